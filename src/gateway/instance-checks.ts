import createDebug from 'debug'
import { httpCheck } from '../health/probe.js'
import type { EtcdClient } from '../registry/client.js'
import { gatewayCheckPrefix, type InstanceCheck } from '../registry/gateway-acks.js'
import type { Emit, GatewayState } from './types.js'

const debug = createDebug('forrest:gateway')

/** The health checks (path, status) rollouts recorded for this prefix's instances. */
export async function readChecks(client: EtcdClient, prefix: string, recordsRoot?: string): Promise<Map<string, InstanceCheck>> {
  const base = gatewayCheckPrefix(prefix, recordsRoot)
  const all = await client.getAll().prefix(base).strings()
  const out = new Map<string, InstanceCheck>()
  for (const [key, value] of Object.entries(all)) {
    try {
      out.set(key.slice(base.length), JSON.parse(value) as InstanceCheck)
    } catch {
      debug('ignoring malformed check %s', key)
    }
  }
  return out
}

/**
 * The app's own health check (path and status from its deployment file), from where HAProxy
 * runs, before the server is added: HAProxy's backend check may probe another path, and the
 * gateway's host may not reach what the deploy's host reached. Failing is a "down" verdict.
 */
export async function specCheckPasses(name: string, address: string, check: InstanceCheck | undefined, state: GatewayState, emit: Emit): Promise<boolean> {
  const { refused, specFailingSince } = state
  if (!check) return true
  const r = await httpCheck(address, { path: check.path, status: check.status, timeout: 1000 })
  if (r.ok) return true
  const reason = `GET ${check.path} from the gateway's host answered ${r.detail}, expected HTTP ${check.status}`
  if (refused.get(name) !== reason) emit({ type: 'check-failed', name, address })
  refused.set(name, reason)
  if (!specFailingSince.has(name)) specFailingSince.set(name, Date.now())
  return false
}
