// Tiny HAProxy runtime-API client for the bench (no socat): one command per connection, read
// until HAProxy closes. Used as a module by latency.mjs and as a CLI by run.sh:
//   node bench/haproxy.mjs SOCKET count BACKEND     -> number of servers in BACKEND
//   node bench/haproxy.mjs SOCKET wait-empty BACKEND [timeoutMs]
//   node bench/haproxy.mjs SOCKET wait-ready        [timeoutMs]
//   node bench/haproxy.mjs SOCKET wait-live BACKEND N [timeoutMs]  -> N servers UP with weight, no maint/drain
import { createConnection } from 'node:net'

export function send(socket, command, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket)
    let out = ''
    const timer = setTimeout(() => s.destroy(new Error(`no answer from ${socket}`)), timeoutMs)
    s.setEncoding('utf8')
    s.on('connect', () => s.end(`${command}\n`))
    s.on('data', (d) => (out += d))
    s.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    s.on('close', () => {
      clearTimeout(timer)
      resolve(out)
    })
  })
}

/** `show servers state BACKEND` as objects: name, addr, opState (2 = running), adminState, weight. */
export async function servers(socket, backend) {
  const out = await send(socket, `show servers state ${backend}`)
  const rows = []
  for (const line of out.split('\n')) {
    if (!line || line.startsWith('#') || /^\d+$/.test(line.trim())) continue
    const f = line.trim().split(/\s+/)
    if (f.length < 8 || f[1] !== backend) continue
    // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight ...
    rows.push({ name: f[3], addr: f[4], opState: Number(f[5]), adminState: Number(f[6]), weight: Number(f[7]) })
  }
  return rows
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function main() {
  const [socket, cmd, backend = 'app', ...rest] = process.argv.slice(2)
  const want = cmd === 'wait-live' ? Number(rest.shift()) : 0
  const deadline = Date.now() + Number(rest[0] ?? 30000)
  if (cmd === 'count') {
    console.log((await servers(socket, backend)).length)
  } else if (cmd === 'wait-empty') {
    while ((await servers(socket, backend)).length > 0) {
      if (Date.now() > deadline) throw new Error(`backend ${backend} still has servers`)
      await sleep(50)
    }
  } else if (cmd === 'wait-live') {
    const live = async () => (await servers(socket, backend)).filter((s) => s.opState === 2 && s.weight > 0 && s.adminState === 0).length
    while ((await live()) < want) {
      if (Date.now() > deadline) throw new Error(`backend ${backend} has ${await live()} of ${want} servers live`)
      await sleep(100)
    }
  } else if (cmd === 'wait-ready') {
    for (;;) {
      try {
        if (/Pid:/.test(await send(socket, 'show info'))) return
      } catch {}
      if (Date.now() > deadline) throw new Error(`no HAProxy on ${socket}`)
      await sleep(50)
    }
  } else {
    throw new Error(`unknown command ${cmd}`)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`haproxy.mjs: ${e.message}`)
    process.exit(1)
  })
}
