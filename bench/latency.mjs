// Figure 3: announce-to-served latency through `forrest gateway` + HAProxy, measured from the
// outside (nothing trusts the gateway's own reports):
//   t0      just before the etcd put of /<prefix>/<name> = <addr> (etcd's JSON gateway, HTTP)
//   added   the server first appears in `show servers state` (gateway reacted; weight 0, gated)
//   up      op_state 2 (running) and weight > 0 in `show servers state` (routable)
//   served  the first HTTP 200 through the HAProxy frontend answered by this server: the request
//           names it in x-bench-server, and the bench's HAProxy config routes such a request to
//           that server when HAProxy deems it usable (use-server) and names the server that
//           answered in x-forrest-server; so it works with any number of other servers
//   acked   the gateway's ack key in etcd reaches the put's revision (what `forrest deploy` waits for)
// Each announcement uses a fresh server name for an address that already answers HTTP (its own
// container, or one already in the backend under another name); after it, the key is deleted and
// the gateway has acknowledged that. Polling: 5 ms on each of the four observers.
// Usage: node bench/latency.mjs ETCD PREFIX SOCKET FRONTEND_URL TAG ADDR...
// Prints one TSV line per instance: tag name added_ms up_ms served_ms acked_ms
import { servers } from './haproxy.mjs'

const [etcd, prefix, socket, frontend, tag, ...addrs] = process.argv.slice(2)
const b64 = (s) => Buffer.from(s).toString('base64')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const now = () => performance.now()

async function etcdCall(path, body) {
  const res = await fetch(`http://${etcd}/v3/${path}`, { method: 'POST', body: JSON.stringify(body) })
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status}`)
  return res.json()
}
/** [key, key+1) in etcd terms: every key under the prefix. */
const rangeEnd = (p) => b64(p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1))

async function ackRevisions() {
  const p = '/forrest/gateways/'
  const r = await etcdCall('kv/range', { key: b64(p), range_end: rangeEnd(p) })
  return (r.kvs ?? []).map((kv) => JSON.parse(Buffer.from(kv.value, 'base64').toString()).revision)
}

/** Whether a request naming `name` was answered 200 by that server. */
async function servedBy(url, name) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000), headers: { connection: 'close', 'x-bench-server': name } })
    await res.arrayBuffer()
    return res.status === 200 && res.headers.get('x-forrest-server') === name
  } catch {
    return false
  }
}

async function until(fn, timeoutMs = 15000) {
  const deadline = now() + timeoutMs
  for (;;) {
    if (await fn()) return now()
    if (now() > deadline) throw new Error('timed out')
    await sleep(5) // observer poll interval
  }
}

async function one(name, addr) {
  const key = `/${prefix}/${name}`
  const t0 = now()
  const put = await etcdCall('kv/put', { key: b64(key), value: b64(addr) })
  const rev = Number(put.header.revision)
  const find = async () => (await servers(socket, 'app')).find((s) => s.name === name)
  const [added, up, served, acked] = await Promise.all([
    until(async () => Boolean(await find())),
    until(async () => {
      const s = await find()
      return Boolean(s && s.opState === 2 && s.weight > 0)
    }),
    until(() => servedBy(frontend, name)),
    until(async () => {
      const revs = await ackRevisions()
      return revs.length > 0 && revs.every((r) => r >= rev)
    }),
  ])
  // Acked, not "gone": the gateway keeps the last server of a backend unless forrest's records
  // say the app was scaled to 0 (its empty-view guard), which bare keys never say.
  const del = Number((await etcdCall('kv/deleterange', { key: b64(key) })).header.revision)
  await until(async () => (await ackRevisions()).every((r) => r >= del))
  const ms = (t) => (t - t0).toFixed(1)
  process.stdout.write(`${tag}\t${name}\t${ms(added)}\t${ms(up)}\t${ms(served)}\t${ms(acked)}\n`)
}

let i = 0
for (const addr of addrs) await one(`lat-${tag}-${++i}`, addr)
