import type { HostState } from '../hosts/fleet.js'
import { Records } from '../registry/records.js'

/** Instance records of instances that are gone (no key, no container on a host we can see) are dropped. */
export async function pruneInstanceRecords(records: Records, app: string, present: string[], hosts: HostState[]): Promise<void> {
  const keep = new Set(present)
  const seen = new Set(hosts.map((h) => h.engine).filter(Boolean))
  const stale = [...(await records.instances(app)).values()].filter((r) => !keep.has(r.name) && r.engine !== undefined && seen.has(r.engine))
  if (stale.length) await records.deleteInstances(app, stale.map((r) => r.name))
}
