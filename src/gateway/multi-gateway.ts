/**
 * One `forrest gateway` process, several routes: a gateway (gateway.ts) per prefix → backend pair,
 * sharing the etcd client, the HAProxy socket, the id and the metrics. Each publishes its own ack
 * under its own prefix, so a rollout on any of them waits for this process as for a gateway of
 * its own; a route never sees another's servers. Started all or none.
 */
import { startGateway } from './gateway.js'
import type { Route } from './routes.js'
import type { GatewayHandle, GatewayOptions } from './types.js'

export async function startRoutes(base: Omit<GatewayOptions, 'prefix' | 'backend'>, routes: readonly Route[]): Promise<GatewayHandle> {
  const handles: GatewayHandle[] = []
  try {
    for (const r of routes) handles.push(await startGateway({ ...base, prefix: r.prefix, backend: r.backend }))
  } catch (err) {
    await Promise.all(handles.map((h) => h.stop()))
    throw err
  }
  if (handles.length === 1) return handles[0]!
  return {
    id: handles[0]!.id,
    // The lowest any route has applied: what the process as a whole may claim.
    appliedRevision: () => Math.min(...handles.map((h) => h.appliedRevision())),
    status: () => {
      const all = handles.map((h) => h.status())
      const synced = all.map((s) => s.lastSyncAt)
      return { leaseHeld: all.every((s) => s.leaseHeld), ...(synced.every((t) => t !== undefined) ? { lastSyncAt: Math.min(...(synced as number[])) } : {}) }
    },
    stop: async () => {
      await Promise.all(handles.map((h) => h.stop()))
    },
  }
}
