import type { Context } from '../context.js'
import { findForrestContainer, keyOf, stopAndRemove } from './instance-ops.js'

export interface StopResult {
  name: string
  container: string
  key: string
  withdrawn: boolean
}

/** `forrest stop`: withdraw the key first so no new traffic arrives, then stop and remove. */
export async function stop(ctx: Context, name: string, graceSeconds: number, log: (line: string) => void): Promise<StopResult> {
  log(`Stopping ${name} ...`)
  // Refuse before touching etcd: a container without forrest's labels is not ours.
  const c = await findForrestContainer(ctx.runtime, name)
  log(`Found container ${c.id.slice(0, 12)} ...`)
  const key = keyOf(c, ctx.config.prefix)
  const withdrawn = (await ctx.registry.get(key)) !== null
  await ctx.registry.withdraw(key)
  await stopAndRemove(ctx.runtime, c.id, graceSeconds)
  log('Stopped.')
  return { name: c.name, container: c.id, key, withdrawn }
}
