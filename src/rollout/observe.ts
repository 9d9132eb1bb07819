import type { Context, Identity } from '../context.js'
import type { ContainerInfo } from '../docker/runtime.js'
import { isOwnRollout, LABEL } from '../labels.js'
import type { ObservedInstance, ObservedState } from '../plan/types.js'
import type { InstanceRecord, Records } from '../registry/records.js'

export interface Observation {
  state: ObservedState
  /** This environment's containers of the app, by name: the only ones a rollout may touch. */
  containers: Map<string, ContainerInfo>
  /** Containers labelled for this app that are not ours (another etcd or records root, or `forrest launch`). */
  foreign: ContainerInfo[]
  /** What was seen but is not provably ours, so is left alone (for the plan's notes). */
  notes: string[]
}

/**
 * What is really there for one app: its containers in Docker (matched on the owner label, not the
 * name) and its keys in etcd, each under the instance's own prefix (a prefix migration leaves
 * keys under the old one). A key with no container is this app's only if its instance record
 * says so, and stale only if that record names this Docker engine: a key for an instance on
 * another host, or one forrest has no record of, is never withdrawn.
 */
export async function observe(ctx: Context, records: Records, app: string, target: { prefix: string; ip: string }, identity: Identity): Promise<Observation> {
  const [list, instanceRecords, current] = await Promise.all([
    ctx.runtime.list({ [LABEL.managed]: 'true', [LABEL.app]: app }),
    records.instances(app),
    records.current(app),
  ])
  const own = list.filter((c) => isOwnRollout(c.labels, identity.owner, app))
  const foreign = list.filter((c) => !own.includes(c))
  const containers = new Map(own.map((c) => [c.name, c]))
  const prefixOf = (name: string) => containers.get(name)?.labels[LABEL.prefix] ?? instanceRecords.get(name)?.prefix ?? target.prefix
  const prefixes = [...new Set([target.prefix, ...own.map((c) => prefixOf(c.name)), ...[...instanceRecords.values()].map((r) => r.prefix ?? target.prefix)])]
  const keysByPrefix = new Map(await Promise.all(prefixes.map(async (p) => [p, await ctx.registry.list(p)] as const)))
  const keyOf = (name: string) => keysByPrefix.get(prefixOf(name))?.get(name)

  const notes: string[] = []
  const names = new Set(containers.keys())
  for (const [name, rec] of instanceRecords) {
    if (containers.has(name) || keyOf(name) === undefined) continue
    if (provablyDead(rec, identity)) names.add(name)
    else notes.push(`${name} is registered at ${keyOf(name)} with no container here, but its record names ${rec.host} (engine ${rec.engine ?? 'unknown'}): left alone`)
  }
  const instances: ObservedInstance[] = [...names].sort().map((name) => {
    const c = containers.get(name)
    const rev = c?.labels[LABEL.revision] ?? instanceRecords.get(name)?.revision
    const key = keyOf(name)
    const inst: ObservedInstance = {
      name,
      containerId: c?.id,
      revision: rev === undefined ? undefined : Number(rev),
      running: c?.running ?? false,
      registered: key !== undefined,
      address: key ?? (c?.hostPort ? `${target.ip}:${c.hostPort}` : undefined),
      prefix: prefixOf(name),
    }
    if (c?.labels[LABEL.template]) inst.template = c.labels[LABEL.template]
    return inst
  })
  for (const c of foreign) notes.push(`${c.name} carries forrest.app=${app} but belongs to ${c.labels[LABEL.owner] ?? 'no recorded owner'}${c.labels[LABEL.kind] === 'launch' ? ' (forrest launch)' : ''}: never touched`)
  return { state: { app, currentRevision: current?.revision, instances, reserved: foreign.map((c) => c.name) }, containers, foreign, notes }
}

/** A registered instance whose record says it ran on this engine, where no container of it is left. */
const provablyDead = (rec: InstanceRecord, identity: Identity) => rec.engine === identity.engine
