import type { Context } from '../context.js'
import type { ContainerInfo } from '../docker/runtime.js'
import { LABEL } from '../labels.js'
import { parseInstanceName } from '../plan/naming.js'
import type { ObservedInstance, ObservedState } from '../plan/types.js'
import type { Records } from '../registry/records.js'

export interface Observation {
  state: ObservedState
  containers: Map<string, ContainerInfo>
  keys: Map<string, string>
}

/**
 * What is really there for one app: its forrest-labelled containers in Docker and its keys in
 * etcd. The prefix may be shared with other apps (one confd backend), so a key belongs to this
 * app only if its name is one of this app's instance names or one of its containers.
 */
export async function observe(ctx: Context, records: Records, app: string, prefix: string, ip: string): Promise<Observation> {
  const [list, allKeys, current] = await Promise.all([
    ctx.runtime.list({ [LABEL.managed]: 'true', [LABEL.app]: app }),
    ctx.registry.list(prefix),
    records.current(app),
  ])
  const containers = new Map(list.map((c) => [c.name, c]))
  const keys = new Map([...allKeys].filter(([name]) => containers.has(name) || parseInstanceName(app, name)))
  const names = new Set([...containers.keys(), ...keys.keys()])
  const instances: ObservedInstance[] = [...names].sort().map((name) => {
    const c = containers.get(name)
    const rev = c?.labels[LABEL.revision]
    return {
      name,
      containerId: c?.id,
      revision: rev === undefined ? undefined : Number(rev),
      running: c?.running ?? false,
      registered: keys.has(name),
      address: keys.get(name) ?? (c?.hostPort ? `${ip}:${c.hostPort}` : undefined),
    }
  })
  return { state: { app, currentRevision: current?.revision, instances }, containers, keys }
}
