import type { Identity } from '../context.js'
import type { ContainerInfo } from '../docker/runtime.js'
import type { HostState } from '../hosts/fleet.js'
import { isOwnRollout, LABEL } from '../labels.js'
import type { ObservedInstance, ObservedState } from '../plan/types.js'
import type { InstanceRegistry } from '../registry/instances.js'
import type { Records } from '../registry/records.js'

/** A container and the host it runs on. */
export interface Placed {
  host: string
  info: ContainerInfo
}

export interface Observation {
  state: ObservedState
  /** This environment's containers of the app, by name: the only ones a rollout may touch. */
  containers: Map<string, Placed>
  /** Containers labelled for this app that are not ours (another etcd or records root, or `forrest launch`). */
  foreign: Placed[]
  /** What was seen but is not provably ours, so is left alone (for the plan's notes). */
  notes: string[]
}

/**
 * What is really there for one app: its containers on every reachable host (matched on the owner
 * label, not the name) and its keys in etcd, each under the instance's own prefix (a prefix
 * migration leaves keys under the old one). A key with no container is this app's only if its
 * instance record says so, and stale only if that record names the engine of a host forrest can
 * see: a key for an instance on a host that is down, or one forrest has no record of, is never
 * withdrawn.
 */
export async function observe(
  deps: { registry: InstanceRegistry; records: Records },
  app: string,
  target: { prefix: string },
  identity: Identity,
  hosts: HostState[],
  /** Hosts that left the app's list and do not answer, named in --forget-host: their instances' keys and records are withdrawn. */
  forget: ReadonlySet<string> = new Set(),
): Promise<Observation> {
  const reachable = hosts.filter((h) => h.engine !== undefined)
  const [lists, instanceRecords, current] = await Promise.all([
    Promise.all(reachable.map(async (h) => (await h.host.runtime.list({ [LABEL.managed]: 'true', [LABEL.app]: app })).map((info) => ({ host: h.host.name, info })))),
    deps.records.instances(app),
    deps.records.current(app),
  ])
  const all = lists.flat()
  const own = all.filter((c) => isOwnRollout(c.info.labels, identity.owner, app))
  const foreign = all.filter((c) => !own.includes(c))
  const containers = new Map(own.map((c) => [c.info.name, c]))
  const prefixOf = (name: string) => containers.get(name)?.info.labels[LABEL.prefix] ?? instanceRecords.get(name)?.prefix ?? target.prefix
  const prefixes = [...new Set([target.prefix, ...own.map((c) => prefixOf(c.info.name)), ...[...instanceRecords.values()].map((r) => r.prefix ?? target.prefix)])]
  const keysByPrefix = new Map(await Promise.all(prefixes.map(async (p) => [p, await deps.registry.list(p)] as const)))
  const keyOf = (name: string) => keysByPrefix.get(prefixOf(name))?.get(name)
  const hostOfEngine = new Map(reachable.map((h) => [h.engine!, h.host.name]))

  const notes: string[] = []
  const names = new Set(containers.keys())
  for (const [name, rec] of instanceRecords) {
    if (containers.has(name)) continue
    if (forget.has(rec.host)) {
      names.add(name)
      notes.push(`${name} on ${rec.host} (--forget-host): its key and record are withdrawn; nothing on ${rec.host} is touched`)
      continue
    }
    if (keyOf(name) === undefined) continue
    // Stale only when the record's engine is one we can see, and it shows no container of it.
    if (rec.engine !== undefined && hostOfEngine.has(rec.engine)) names.add(name)
    else notes.push(`${name} is registered at ${keyOf(name)} with no container on a host forrest can see; its record names ${rec.host} (engine ${rec.engine ?? 'unknown'}): left alone`)
  }
  const instances: ObservedInstance[] = [...names].sort().map((name) => {
    const c = containers.get(name)
    const rec = instanceRecords.get(name)
    const rev = c?.info.labels[LABEL.revision] ?? rec?.revision
    const key = keyOf(name)
    const host = c?.host ?? (rec?.engine !== undefined ? hostOfEngine.get(rec.engine) : undefined)
    const address = key ?? (c?.info.hostPort ? `${hosts.find((h) => h.host.name === c.host)?.host.address}:${c.info.hostPort}` : undefined)
    const inst: ObservedInstance = { name, containerId: c?.info.id, revision: rev === undefined ? undefined : Number(rev), running: c?.info.running ?? false, registered: key !== undefined, prefix: prefixOf(name) }
    if (address) inst.address = address
    if (host) inst.host = host
    if (c?.info.labels[LABEL.template]) inst.template = c.info.labels[LABEL.template]
    if (c?.info.labels[LABEL.process]) inst.process = c.info.labels[LABEL.process]
    return inst
  })
  for (const c of foreign) notes.push(`${c.info.name} on ${c.host} carries forrest.app=${app} but belongs to ${c.info.labels[LABEL.owner] ?? 'no recorded owner'}${c.info.labels[LABEL.kind] === 'launch' ? ' (forrest launch)' : ''}: never touched`)
  for (const h of hosts) if (h.error) notes.push(`host ${h.host.name} (${h.host.endpoint}) did not answer: nothing on it is touched (${h.error.message})`)
  return { state: { app, currentRevision: current?.revision, instances, reserved: foreign.map((c) => c.info.name) }, containers, foreign, notes }
}
