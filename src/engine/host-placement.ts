import type { Context } from '../context.js'
import type { HostState } from '../hosts/fleet.js'
import { HostAvailabilities, type HostAvailabilityRecord } from '../registry/host-availability.js'
import type { DeploymentSpec } from '../spec/types.js'
import { placeable } from './step-deps.js'
import type { ResolvedSpec } from './types.js'

/** The hosts' availability records (cordon, drain), read and written unfenced: they are no one app's. */
export const hostAvailabilities = (ctx: Context) => new HostAvailabilities(ctx.etcd, ctx.config.etcdHosts, ctx.config.recordsRoot, ctx.writer)

/**
 * Where a rollout may place instances: the reachable hosts of the app's list that match its
 * placement, less the draining and drained ones (their instances move), with the cordoned ones
 * named (they keep what runs there, get nothing new). A host the app's records name that is no
 * longer in its list (it left) is observed, never placed on: its instances move too.
 */
export function placementOf(hosts: HostState[], spec: ResolvedSpec, availability: ReadonlyMap<string, HostAvailabilityRecord> = new Map()): { hosts: string[]; cordoned: string[]; notes: string[] } {
  const listed = (name: string) => !spec.hosts || spec.hosts.some((h: NonNullable<DeploymentSpec['hosts']>[number]) => h.name === name)
  const notes: string[] = []
  const out: string[] = []
  const cordoned: string[] = []
  for (const name of placeable(hosts, spec)) {
    const a = availability.get(name)?.availability
    if (!listed(name)) notes.push(`host ${name} is no longer in ${spec.name}'s hosts: its instances move to the others`)
    else if (a === 'draining' || a === 'drained') notes.push(`host ${name} is ${a} (forrest host drain): ${spec.name}'s instances there move to the other hosts`)
    else {
      out.push(name)
      if (a === 'cordoned') {
        cordoned.push(name)
        notes.push(`host ${name} is cordoned: no new instance of ${spec.name} goes there`)
      }
    }
  }
  return { hosts: out, cordoned, notes }
}

/** The part of a placement the planner takes. */
export const placedOn = (p: ReturnType<typeof placementOf>) => ({ hosts: p.hosts, cordoned: p.cordoned })
