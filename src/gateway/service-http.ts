import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ForrestError } from '../errors.js'
import type { GatewayMetrics } from './metrics.js'
import type { GatewayStatus } from './types.js'

/*
 * The gateway's service listener (--metrics ADDR): GET /metrics (Prometheus text), /healthz
 * (200 while the process runs) and /readyz (200 only while the etcd lease is held and the last
 * successful sync is recent; 503 with the reasons otherwise).
 */

export const DEFAULT_READY_MAX_AGE_MS = 10_000

/** "127.0.0.1:9464", ":9464" (every address), "[::1]:9464" → host and port; BAD_INPUT otherwise. */
export function parseListenAddress(value: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim())
  const port = m ? Number(m[3]) : NaN
  if (!m || !(port > 0 && port < 65536)) {
    throw new ForrestError('BAD_INPUT', `--metrics "${value}" is not a listen address`, { suggestion: 'Write HOST:PORT, e.g. --metrics 127.0.0.1:9464 (or :9464 for every address).' })
  }
  const host = m[1] ?? m[2]
  return { ...(host ? { host } : {}), port }
}

/** Why the gateway is not ready (empty when ready). Pure. */
export function notReadyReasons(s: GatewayStatus, now: number, maxAgeMs = DEFAULT_READY_MAX_AGE_MS): string[] {
  const reasons: string[] = []
  if (!s.leaseHeld) reasons.push('etcd lease not held (etcd unreachable?): deploys cannot count on this gateway')
  if (s.lastSyncAt === undefined) reasons.push('no successful sync yet')
  else if (now - s.lastSyncAt > maxAgeMs) reasons.push(`last successful sync ${((now - s.lastSyncAt) / 1000).toFixed(1)}s ago (limit ${maxAgeMs / 1000}s)`)
  return reasons
}

export interface ServiceListener {
  /** The bound address, e.g. "127.0.0.1:9464". */
  address: string
  close(): Promise<void>
}

export async function startServiceListener(listen: string, x: { metrics: GatewayMetrics; status: () => GatewayStatus; readyMaxAgeMs?: number }): Promise<ServiceListener> {
  const { host, port } = parseListenAddress(listen)
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'text/plain', 'GET only\n')
    if (path === '/metrics') {
      x.metrics.registry.metrics().then(
        (text) => reply(200, x.metrics.registry.contentType, text),
        (err: unknown) => reply(500, 'text/plain', `metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
      )
      return
    }
    if (path === '/healthz') return reply(200, 'text/plain', 'ok\n')
    if (path === '/readyz') {
      const reasons = notReadyReasons(x.status(), Date.now(), x.readyMaxAgeMs)
      return reply(reasons.length ? 503 : 200, 'text/plain', reasons.length ? `not ready: ${reasons.join('; ')}\n` : 'ready\n')
    }
    reply(404, 'text/plain', 'not found: try /metrics, /healthz or /readyz\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new ForrestError('BAD_INPUT', `--metrics ${listen}: cannot listen: ${err.message}`, { cause: err, suggestion: 'Pick a free port or an address of this host.' })),
    )
    server.listen(port, host, () => resolve())
  })
  const a = server.address() as AddressInfo
  return {
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
