/**
 * `forrest status`: the containers `forrest launch` started in this environment (same etcd
 * cluster and records root). They belong to no app and no deploy touches them; status lists
 * them so what serves under a prefix is all in one place. They never make status fail.
 */
import type { Context } from '../context.js'
import type { ContainerInfo } from '../docker/runtime.js'
import { toForrestError } from '../errors.js'
import { LABEL } from '../labels.js'
import { instanceKey } from '../plan/keys.js'

export interface LaunchedStatus {
  name: string
  container: string
  image: string
  /** Docker state: running, exited, ... */
  state: string
  /** ip:port of its key when registered, else undefined. */
  address?: string
  /** Its key /<prefix>/<name> is in etcd. */
  registered: boolean
  prefix: string
}

/**
 * The launch containers of this environment on the local engine, with their keys (one read each,
 * in parallel). An engine that does not answer is said, not fatal: the apps' status stands alone.
 */
export async function collectLaunched(ctx: Context, owner: string): Promise<{ launched: LaunchedStatus[] } | { launchedError: string }> {
  let listed: ContainerInfo[]
  try {
    listed = await ctx.runtime.list({ [LABEL.managed]: 'true', [LABEL.kind]: 'launch' })
  } catch (err) {
    return { launchedError: toForrestError(err).message }
  }
  const own = listed.filter((c) => c.labels[LABEL.owner] === owner).sort((a, b) => a.name.localeCompare(b.name))
  return { launched: await Promise.all(own.map(async (c) => launchedStatus(c, await ctx.registry.get(instanceKey(c.labels[LABEL.prefix] ?? ctx.config.prefix, c.name))))) }
}

/** Pure: one launch container and the value of its key. */
export function launchedStatus(c: ContainerInfo, key: string | null): LaunchedStatus {
  return {
    name: c.name,
    container: c.id.slice(0, 12),
    image: c.image,
    state: c.state,
    ...(key ? { address: key } : {}),
    registered: key !== null,
    prefix: c.labels[LABEL.prefix] ?? '?',
  }
}
