import { ForrestError } from '../errors.js'
import type { Host, HostState } from '../hosts/fleet.js'
import type { HostAvailabilityRecord } from '../registry/host-availability.js'
import { placementOf } from './host-placement.js'
import { placeable } from './step-deps.js'
import type { ResolvedSpec } from './types.js'

/** Where a one-off container goes, and the line that says so (with the hosts passed over). */
export interface InServiceChoice {
  host: Host
  /** "on h2 (passed over: h1 cordoned)" */
  line: string
}

/**
 * The host a one-off container of the app runs on (the release command, `forrest run`): the first
 * reachable host of its placement that is in service, i.e. not cordoned, draining or drained
 * (forrest host) and still in its hosts list, naming the ones passed over. Undefined when no host
 * of its placement answers (the caller's own "unreachable" error). Reachable hosts but none in
 * service: NO_ROOM (exit 22), nothing started. Pure.
 */
export function inServiceHost(
  hosts: HostState[],
  spec: ResolvedSpec,
  availability: ReadonlyMap<string, HostAvailabilityRecord>,
  x: { what: string; retry: string },
): InServiceChoice | undefined {
  const reachable = placeable(hosts, spec)
  if (reachable.length === 0) return undefined
  const where = placementOf(hosts, spec, availability)
  const open = where.hosts.filter((h) => !where.cordoned.includes(h))
  const passed = reachable.filter((h) => !open.includes(h)).map((h) => `${h} ${availability.get(h)?.availability ?? `not in ${spec.name}'s hosts list`}`)
  const name = open[0]
  if (name === undefined) {
    throw new ForrestError('NO_ROOM', `${x.what}: no host of ${spec.name} is in service to run it on (${passed.join(', ')}); nothing was started`, {
      suggestion: `Put a host back in service with forrest host uncordon NAME (forrest host ls shows each host's state), then ${x.retry}.`,
    })
  }
  const host = hosts.find((h) => h.host.name === name)!.host
  return { host, line: `on ${name}${passed.length ? ` (passed over: ${passed.join(', ')})` : ''}` }
}
