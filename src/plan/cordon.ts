/**
 * Placement with cordoned hosts, pure. A cordoned host takes no new instance of any app, but
 * what already runs there stays (up to the host's even share): a cordon is not a drain. The
 * replicas the cordoned hosts do not keep are spread over the open hosts as desiredPerHost does.
 * A drained (or draining) host is not a cordoned one: the caller leaves it out of `hosts`, so its
 * instances are surplus and move within the bounds.
 */
import { desiredPerHost } from './placement.js'

/** Desired count per host; `short` > 0 when the open hosts are none and replicas are left to place. */
export function desiredAvoiding(replicas: number, hosts: readonly string[], cordoned: ReadonlySet<string>, running: ReadonlyMap<string, number>): { desired: Map<string, number>; short: number } {
  const even = desiredPerHost(replicas, hosts, running)
  if (hosts.length === 0) return { desired: even, short: replicas }
  if (![...cordoned].some((h) => hosts.includes(h))) return { desired: even, short: 0 }
  const desired = new Map(hosts.map((h) => [h, 0]))
  let kept = 0
  for (const h of hosts) {
    if (!cordoned.has(h)) continue
    const n = Math.min(running.get(h) ?? 0, even.get(h) ?? 0)
    desired.set(h, n)
    kept += n
  }
  const open = hosts.filter((h) => !cordoned.has(h))
  if (open.length === 0) return { desired, short: replicas - kept }
  for (const [h, n] of desiredPerHost(replicas - kept, open, running)) desired.set(h, n)
  return { desired, short: 0 }
}
