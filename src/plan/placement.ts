/**
 * Placement across Docker hosts, pure: how many instances of the target revision each host
 * should run, which running ones are surplus where, and where each new one starts. Replicas
 * spread evenly (the counts differ by at most one); the hosts that get one more are those that
 * already run more, so a deploy moves nothing it does not have to. Hosts come in the order
 * given (the inventory's), which breaks every tie, so the same input always places the same way.
 */
import type { ObservedInstance } from './types.js'

export function desiredPerHost(replicas: number, hosts: readonly string[], running: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map(hosts.map((h) => [h, 0]))
  if (hosts.length === 0) return out
  const base = Math.floor(replicas / hosts.length)
  const extra = replicas % hosts.length
  const byRunning = [...hosts].sort((a, b) => (running.get(b) ?? 0) - (running.get(a) ?? 0) || hosts.indexOf(a) - hosts.indexOf(b))
  for (const h of hosts) out.set(h, base)
  for (const h of byRunning.slice(0, extra)) out.set(h, base + 1)
  return out
}

/**
 * Splits instances of the target revision (best first: the ones to keep) into those that stay
 * and the surplus: on a host not (or no longer) eligible, or beyond the host's desired count.
 */
export function splitByPlacement(instances: readonly ObservedInstance[], desired: ReadonlyMap<string, number>): { keep: ObservedInstance[]; surplus: ObservedInstance[] } {
  const kept = new Map<string, number>()
  const keep: ObservedInstance[] = []
  const surplus: ObservedInstance[] = []
  for (const i of instances) {
    const h = i.host ?? ''
    const n = kept.get(h) ?? 0
    if (n < (desired.get(h) ?? 0)) {
      kept.set(h, n + 1)
      keep.push(i)
    } else surplus.push(i)
  }
  return { keep, surplus }
}

/** Picks the host for each new instance: the one furthest below its desired count. */
export function hostPicker(desired: ReadonlyMap<string, number>, kept: readonly ObservedInstance[]): () => string {
  const have = new Map<string, number>()
  for (const i of kept) have.set(i.host ?? '', (have.get(i.host ?? '') ?? 0) + 1)
  const hosts = [...desired.keys()]
  return () => {
    let best = hosts[0]!
    for (const h of hosts) if ((desired.get(h) ?? 0) - (have.get(h) ?? 0) > (desired.get(best) ?? 0) - (have.get(best) ?? 0)) best = h
    have.set(best, (have.get(best) ?? 0) + 1)
    return best
  }
}
