#!/usr/bin/env node
/**
 * Pre-pull benchmark (issue #14), against the lab (scripts/lab/up.sh): the ~50 MB image
 * <registry>/demo/big:1 (busybox + 50 MB of random data, one 52 MB layer) onto h1 and h2.
 *
 *   A. pre-pull to h1 + h2 in parallel (prePull over both) against one after the other
 *   B. a two-wave rollout over h1 and h2 (one container per wave, as maxSurge 1 places them):
 *      pre-pull on both first, then the waves; against pulling inside each wave before its start
 *   C. the real thing: `forrest deploy` of the big image to hosts h1 + h2 (image on neither), and
 *      the same deploy when both already have it; the difference is what the pre-pull costs a deploy
 *
 * The image is removed from both hosts before every pulling run. Every container carries the
 * label forrest-bench.run=<id> and is removed by it. Usage (after `npm run build`):
 *   node bench/pull.mjs [RUNS]        RUNS of each figure, default 3; BENCH_DEPLOY=0 skips C
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { dockerWithOptions } from '../dist/docker/connect.js'
import { DockerRuntime } from '../dist/docker/docker-runtime.js'
import { prePull } from '../dist/image/pre-pull.js'

const run = promisify(execFile)
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const RUNS = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 3)
const ID = randomBytes(3).toString('hex')
const LABEL = `forrest-bench.run=${ID}`
const log = (...a) => console.error(`[pull-bench ${new Date().toTimeString().slice(0, 8)}]`, ...a)

const envFile = process.env.FORREST_LAB_ENV ?? '/tmp/forrest-lab/lab.env'
let lab
try {
  lab = Object.fromEntries([...readFileSync(envFile, 'utf8').matchAll(/^(?:export )?([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]))
} catch {
  console.error(`the forrest lab is not up (no ${envFile}): run scripts/lab/up.sh as root`)
  process.exit(1)
}
const certs = lab.FORREST_LAB_CERT_PATH
const tls = { ca: readFileSync(`${certs}/ca.pem`), cert: readFileSync(`${certs}/cert.pem`), key: readFileSync(`${certs}/key.pem`) }
const hosts = ['h1', 'h2'].map((name) => {
  const u = new URL(lab[`FORREST_LAB_${name.toUpperCase()}_TLS`].replace(/^tcp:/, 'https:'))
  return { name, ip: u.hostname, endpoint: `tcp://${u.hostname}:${u.port}`, runtime: new DockerRuntime(dockerWithOptions({ protocol: 'https', host: u.hostname, port: Number(u.port), ...tls }), name) }
})
const auth = { serveraddress: lab.FORREST_LAB_REGISTRY, username: lab.FORREST_LAB_REGISTRY_USER, password: readFileSync(lab.FORREST_LAB_REGISTRY_PASSWORD_FILE, 'utf8').trim() }
const image = lab.FORREST_LAB_BIG_IMAGE
const cli = (h, ...args) => run('docker', ['--tlsverify', '-H', h.endpoint, ...args], { env: { ...process.env, DOCKER_HOST: '', DOCKER_CERT_PATH: certs } }).then((r) => r.stdout.trim())

const digest = await hosts[0].runtime.resolveDigest(image, auth)
const pinned = `${image.replace(/:[^:/]+$/, '')}@${digest}`
const dropImage = async () => {
  for (const h of hosts) await cli(h, 'image', 'rm', '-f', pinned).catch(() => undefined)
  for (const h of hosts) if (await h.runtime.findImage(pinned)) throw new Error(`${pinned} still on ${h.name}`)
}
const removeContainers = async () => {
  for (const h of hosts) {
    const ids = (await cli(h, 'ps', '-aq', '--filter', `label=${LABEL}`)).split('\n').filter(Boolean)
    if (ids.length) await cli(h, 'rm', '-f', ...ids)
  }
}
const secs = (ms) => (ms / 1000).toFixed(2)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const summary = (xs) => `${secs(median(xs))} s (${secs(Math.min(...xs))}–${secs(Math.max(...xs))})`
const time = async (fn) => {
  const t = performance.now()
  await fn()
  return performance.now() - t
}
let seq = 0
const start = (h) => h.runtime.run({ name: `pbench-${ID}-${++seq}`, image: pinned, containerPort: 8080, bindIp: h.ip, labels: { 'forrest-bench.run': ID } })

const rows = { parallel: [], sequential: [], wavesPre: [], wavesIn: [], deployPull: [], deployWarm: [] }
const size = async () => Number(await cli(hosts[0], 'image', 'inspect', '-f', '{{.Size}}', pinned))

try {
  log(`image ${pinned}; runs ${RUNS}; label ${LABEL}`)
  for (let i = 0; i < RUNS; i++) {
    // A: the order alternates so neither variant always runs on a warmer machine.
    for (const variant of i % 2 ? ['sequential', 'parallel'] : ['parallel', 'sequential']) {
      await dropImage()
      rows[variant].push(
        await time(async () => {
          if (variant === 'parallel') await prePull(hosts, pinned, 'missing', auth)
          else for (const h of hosts) await prePull([h], pinned, 'missing', auth)
        }),
      )
      log(`A ${variant}: ${secs(rows[variant].at(-1))} s`)
    }
    // B: two waves, one start per host.
    for (const variant of i % 2 ? ['wavesIn', 'wavesPre'] : ['wavesPre', 'wavesIn']) {
      await dropImage()
      rows[variant].push(
        await time(async () => {
          if (variant === 'wavesPre') {
            await prePull(hosts, pinned, 'missing', auth)
            for (const h of hosts) await start(h)
          } else {
            for (const h of hosts) {
              await prePull([h], pinned, 'missing', auth)
              await start(h)
            }
          }
        }),
      )
      log(`B ${variant}: ${secs(rows[variant].at(-1))} s`)
      await removeContainers()
    }
  }
  if (process.env.BENCH_DEPLOY !== '0') await deploys()
  const mb = ((await size()) / 1e6).toFixed(1)
  const ratio = (a, b) => `${(median(rows[b]) / median(rows[a])).toFixed(2)}×`
  const table = [
    `Pre-pull of ${image} (${mb} MB) to h1 + h2, ${RUNS} runs, median (min–max):`,
    '',
    '| figure | time | vs |',
    '| --- | --- | --- |',
    `| A. pre-pull to h1 + h2 in parallel | ${summary(rows.parallel)} | ${ratio('parallel', 'sequential')} faster than one after the other |`,
    `| A. pre-pull to h1, then to h2 | ${summary(rows.sequential)} | |`,
    `| B. two waves (one start on h1, one on h2), pre-pulled in parallel first | ${summary(rows.wavesPre)} | ${ratio('wavesPre', 'wavesIn')} faster than pulling in each wave |`,
    `| B. two waves, each pulling on its host before its start | ${summary(rows.wavesIn)} | |`,
    ...(rows.deployPull.length
      ? [
          `| C. forrest deploy, 2 replicas on h1 + h2, image on neither (pre-pull included) | ${summary(rows.deployPull)} | |`,
          `| C. the same deploy, image already on both | ${summary(rows.deployWarm)} | pre-pull share: ${secs(median(rows.deployPull) - median(rows.deployWarm))} s |`,
        ]
      : []),
  ].join('\n')
  console.log(table)
  const out = join(ROOT, 'bench', 'out', `pull-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, 'results.tsv'), Object.entries(rows).flatMap(([k, xs]) => xs.map((x, i) => `${k}\t${i + 1}\t${(x / 1000).toFixed(3)}`)).join('\n') + '\n')
  writeFileSync(join(out, 'table.md'), table + '\n')
  log(`raw numbers in ${out}`)
} finally {
  await removeContainers().catch((e) => log('cleanup:', e.message))
  await dropImage().catch((e) => log('cleanup:', e.message))
}

/** C: real deploys with a private etcd (free loopback port, temp data dir), removed afterwards. */
async function deploys() {
  const work = mkdtempSync(join(tmpdir(), 'forrest-pull-bench-'))
  const port = await freePort()
  const peer = await freePort()
  const etcd = spawn('etcd', ['--name', 'pb', '--data-dir', join(work, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${port}`, '--advertise-client-urls', `http://127.0.0.1:${port}`, '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `pb=http://127.0.0.1:${peer}`, '--log-level', 'error'], { stdio: 'ignore' })
  try {
    for (let i = 0; i < 100; i++) {
      if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const env = { ...process.env, ETCD_HOST: `127.0.0.1:${port}`, ETCD_PREFIX: `bench/${ID}`, FORREST_IP: '127.0.0.1', FORREST_LABELS: LABEL, CI: 'true', DOCKER_HOST: '', DOCKER_CONFIG: lab.FORREST_LAB_DOCKER_CONFIG }
    const deployOnce = async (app) => {
      const file = join(work, `${app}.yml`)
      const hostList = hosts.map((h) => `  - {name: ${h.name}, docker: "${h.endpoint}", address: ${h.ip}, tls: {certPath: ${certs}}}`).join('\n')
      writeFileSync(file, `name: ${app}\nimage: ${image}\nreplicas: 2\nport: 8080\nhealth: {type: none}\nupdate: {maxSurge: 1, drain: 100ms, stopGracePeriod: 1s}\nhosts:\n${hostList}\n`)
      const ms = await time(() => run(process.execPath, [join(ROOT, 'bin/run.js'), 'deploy', file], { env, cwd: ROOT }))
      await removeContainers()
      return ms
    }
    for (let i = 0; i < RUNS; i++) {
      await dropImage()
      rows.deployPull.push(await deployOnce(`pb${ID}c${i}`))
      log(`C deploy, pulling: ${secs(rows.deployPull.at(-1))} s`)
      rows.deployWarm.push(await deployOnce(`pb${ID}w${i}`))
      log(`C deploy, image present: ${secs(rows.deployWarm.at(-1))} s`)
    }
  } finally {
    const exited = new Promise((r) => etcd.once('exit', r))
    etcd.kill('SIGTERM')
    await exited
    rmSync(work, { recursive: true, force: true })
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })
}
