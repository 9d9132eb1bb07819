/**
 * One host by name, as a connection: for commands that act on a single host (`forrest launch
 * --host`, `forrest stop --host`). The hosts come from a `hosts:` list (hosts-file.ts: a
 * deployment file or an inventory); "local" is the local engine unless the list names a host so.
 * The runtime comes from the context (one per endpoint), as for a rollout's hosts.
 */
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import type { HostSpec } from '../spec/types.js'
import { hostsOf, LOCAL_HOST, type Host } from './fleet.js'

export function resolveHost(ctx: Context, name: string, hosts: readonly HostSpec[], from: string): Host {
  const spec = hosts.find((h) => h.name === name)
  if (spec) return hostsOf(ctx, { hosts: [spec], announce: {} })[0]!
  if (name === LOCAL_HOST) return hostsOf(ctx, { announce: { address: ctx.config.ip } })[0]!
  throw new ForrestError('BAD_INPUT', `no host "${name}" in ${from} (it lists ${hosts.map((h) => h.name).join(', ') || 'none'}); nothing was changed`, {
    suggestion: `Pass one of those names to --host, or "${LOCAL_HOST}" for the local engine.`,
  })
}
