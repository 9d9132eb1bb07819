// Helpers of bench/scale-live.sh (see bench/README.md, "scale, live"):
//   node bench/scale-live.mjs cpu SECONDS LABEL NAME=PID...   CPU over SECONDS, % of one core:
//        each named process, the docker-proxy processes and the containers of the bench's
//        label, and the whole machine. Prints "cpu<TAB>what<TAB>percent" lines.
//   node bench/scale-live.mjs pass DIST SOCKET BACKEND RUNS   median ms of HaproxyRuntime.servers()
//        (the HAProxy reads of every gateway pass) from the build in DIST. Prints "pass<TAB>ms<TAB>servers".
//   node bench/scale-live.mjs table RESULTS.tsv               the tables of bench/README.md
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'

const [cmd, ...args] = process.argv.slice(2)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** utime + stime of a process (all its threads), in seconds. */
function processSeconds(pid, tick) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields from the 3rd (state) on
  return (Number(f[11]) + Number(f[12])) / tick
}

/** Busy seconds of the whole machine (every core), from /proc/stat. */
function machineSeconds(tick) {
  const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
  return (total - f[3] - f[4]) / tick // minus idle and iowait
}

/** CPU seconds a container has used (cgroup v1 cpuacct, or v2 cpu.stat). */
function containerSeconds(id) {
  const v1 = `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`
  if (existsSync(v1)) return Number(readFileSync(v1, 'utf8')) / 1e9
  const v2 = `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`
  return Number(/usage_usec (\d+)/.exec(readFileSync(v2, 'utf8'))[1]) / 1e6
}

/** The docker-proxy processes publishing one of these host ports. */
function dockerProxies(ports) {
  const pids = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      if (!argv[0].endsWith('docker-proxy')) continue
      if (ports.has(argv[argv.indexOf('-host-port') + 1])) pids.push(pid)
    } catch {} // gone meanwhile
  }
  return pids
}

async function cpu(seconds, label, named) {
  const tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }))
  const ids = execFileSync('docker', ['ps', '-q', '--no-trunc', '--filter', `label=${label}`], { encoding: 'utf8' }).split('\n').filter(Boolean)
  const portsText = execFileSync('docker', ['ps', '--filter', `label=${label}`, '--format', '{{.Ports}}'], { encoding: 'utf8' })
  const proxies = dockerProxies(new Set([...portsText.matchAll(/:(\d+)->/g)].map((m) => m[1])))
  const sample = () => ({
    named: named.map(([, pid]) => processSeconds(pid, tick)),
    proxies: proxies.reduce((sum, pid) => sum + processSeconds(pid, tick), 0),
    containers: ids.reduce((sum, id) => sum + containerSeconds(id), 0),
    machine: machineSeconds(tick),
  })
  const a = sample()
  const t0 = performance.now()
  await sleep(seconds * 1000)
  const b = sample()
  const s = (performance.now() - t0) / 1000
  const pct = (x) => ((x / s) * 100).toFixed(1)
  named.forEach(([name], i) => console.log(`cpu\t${name}\t${pct(b.named[i] - a.named[i])}`))
  console.log(`cpu\tdocker-proxy (${proxies.length})\t${pct(b.proxies - a.proxies)}`)
  console.log(`cpu\tcontainers (${ids.length})\t${pct(b.containers - a.containers)}`)
  console.log(`cpu\tmachine\t${pct(b.machine - a.machine)}`)
}

async function pass(dist, socket, backend, runs) {
  const { HaproxyRuntime } = await import(pathToFileURL(`${dist}/gateway/haproxy-runtime.js`).href)
  const runtime = new HaproxyRuntime(socket)
  let servers = []
  for (let i = 0; i < 5; i++) servers = await runtime.servers(backend) // warm-up
  const ms = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    await runtime.servers(backend)
    ms.push(performance.now() - t0)
  }
  console.log(`pass\t${median(ms).toFixed(2)}\t${servers.length}`)
}

function table(file) {
  const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'))
  const of = (kind) => rows.filter((r) => r[0] === kind)
  const builds = [...new Set(of('status').map((r) => r[1]))]
  const ns = [...new Set(of('status').map((r) => Number(r[2])))].sort((a, b) => a - b)
  const statusOf = (build, n) => of('status').find((r) => r[1] === build && Number(r[2]) === n)
  // status rows: build, N, median s, min s, CPU s of the process (user + system, mean)
  console.log('forrest status APP (whole process, with the table), seconds: median / min / CPU of the process')
  console.log(['instances', ...builds].map((c, i) => (i ? c.padStart(24) : c.padStart(9))).join(''))
  for (const n of ns) console.log([String(n).padStart(9), ...builds.map((b) => (statusOf(b, n)?.slice(3, 6).join(' / ') ?? '-').padStart(24))].join(''))
  for (const b of builds) {
    // Least squares over the sizes: fixed cost (intercept) and cost per instance (slope).
    const fit = (col) => {
      const pts = ns.map((n) => [n, Number(statusOf(b, n)?.[col])]).filter(([, t]) => Number.isFinite(t))
      const mx = pts.reduce((s, [x]) => s + x, 0) / pts.length
      const my = pts.reduce((s, [, y]) => s + y, 0) / pts.length
      const slope = pts.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / pts.reduce((s, [x]) => s + (x - mx) ** 2, 0)
      return `${(my - slope * mx).toFixed(3)} s + ${(slope * 1000).toFixed(2)} ms/instance`
    }
    console.log(`  ${b}: median ${fit(3)}; min ${fit(4)}; CPU ${fit(5)}`)
  }
  const variants = [...new Set(of('cpu').map((r) => r[1]))]
  if (variants.length) {
    const whats = [...new Set(of('cpu').map((r) => r[2]))]
    console.log('')
    console.log('idle CPU with every instance live, % of one core (the machine: of all its cores together)')
    console.log(['variant'.padEnd(24), ...whats.map((w) => w.padStart(19)), 'gateway+haproxy'.padStart(17)].join(''))
    for (const v of variants) {
      const pct = (w) => Number(of('cpu').find((r) => r[1] === v && r[2] === w)?.[3])
      console.log([v.padEnd(24), ...whats.map((w) => pct(w).toFixed(1).padStart(19)), (pct('gateway') + pct('haproxy')).toFixed(1).padStart(17)].join(''))
    }
  }
  const lats = [...new Set(of('lat').map((r) => r[1]))]
  if (lats.length) {
    console.log('')
    console.log('announce → (up in show servers state / served through the frontend / acked in etcd), ms: median (max)')
    for (const v of lats) {
      const col = (i) => of('lat').filter((r) => r[1] === v).map((r) => Number(r[i]))
      const fmt = (xs) => `${median(xs).toFixed(1)} (${Math.max(...xs).toFixed(1)})`
      console.log(`  ${v.padEnd(24)} up ${fmt(col(4))}  served ${fmt(col(5))}  acked ${fmt(col(6))}  n=${col(4).length}`)
    }
  }
  if (of('pass').length) {
    console.log('')
    console.log("HAProxy reads of one gateway pass (HaproxyRuntime.servers), median ms")
    for (const r of of('pass')) console.log(`  ${r[1].padEnd(24)} ${r[2]} ms for ${r[3]} servers`)
  }
}

if (cmd === 'cpu') await cpu(Number(args[0]), args[1], args.slice(2).map((a) => a.split('=')))
else if (cmd === 'pass') await pass(args[0], args[1], args[2], Number(args[3]))
else if (cmd === 'table') table(args[0])
else throw new Error(`unknown command ${cmd}`)
