import type { Context } from '../context.js'
import { ForrestError, toForrestError } from '../errors.js'
import { hostsOf, type Host } from '../hosts/fleet.js'
import { isOwnRollout, LABEL } from '../labels.js'
import type { DeploymentSpec } from '../spec/types.js'

/** App → process → how many of its worker containers run on a host. */
export type WorkersOnHost = Map<string, Map<string, number>>

/**
 * The workers of forrest's apps on each host: they are never announced, so they have no instance
 * records; they are found by the labels forrest put on their containers (this environment's owner,
 * a rollout, a process label). Each host is asked once, whichever apps list it; a host that does not
 * answer is named in `unreachable` (its workers cannot be counted), not thrown. Reads only.
 */
export async function workersOnHosts(ctx: Context, specs: ReadonlyMap<string, Pick<DeploymentSpec, 'hosts' | 'announce'>>, only?: string): Promise<{ hosts: Map<string, WorkersOnHost>; unreachable: Map<string, ForrestError> }> {
  const byName = new Map<string, Host>()
  for (const spec of specs.values()) for (const h of hostsOf(ctx, spec)) if (!byName.has(h.name) && (only === undefined || h.name === only)) byName.set(h.name, h)
  const { owner } = await ctx.identity()
  const hosts = new Map<string, WorkersOnHost>()
  const unreachable = new Map<string, ForrestError>()
  await Promise.all(
    [...byName.values()].map(async (h) => {
      try {
        const found: WorkersOnHost = new Map()
        for (const c of await h.runtime.list({ [LABEL.managed]: 'true', [LABEL.kind]: 'rollout', [LABEL.owner]: owner })) {
          const app = c.labels[LABEL.app]
          const process = c.labels[LABEL.process]
          if (!app || !process || !specs.has(app) || !isOwnRollout(c.labels, owner, app)) continue
          const counts = found.get(app) ?? new Map<string, number>()
          counts.set(process, (counts.get(process) ?? 0) + 1)
          found.set(app, counts)
        }
        hosts.set(h.name, found)
      } catch (err) {
        unreachable.set(h.name, toForrestError(err))
      }
    }),
  )
  return { hosts, unreachable }
}

export const total = (counts: ReadonlyMap<string, number> | undefined): number => [...(counts?.values() ?? [])].reduce((a, b) => a + b, 0)
