import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { readGatewayAcks } from '../registry/gateway-acks.js'
import type { ResolvedSpec } from './types.js'

/** The gateways live now for each prefix: a rollout expects every one of them to acknowledge. */
export async function liveGateways(ctx: Context, prefixes: string[]): Promise<Map<string, Set<string>>> {
  const unique = [...new Set(prefixes)]
  const acks = await Promise.all(unique.map((p) => readGatewayAcks(ctx.etcd, p, ctx.config.recordsRoot)))
  return new Map(unique.map((p, i) => [p, new Set(acks[i]!.acks.keys())]))
}

export function requireGateways(spec: ResolvedSpec, prefix: string, live: ReadonlySet<string> = new Set()): void {
  if (live.size >= spec.gateways.required) return
  const which = live.size ? `only ${live.size} (${[...live].sort().join(', ')})` : 'none'
  throw new ForrestError('GATEWAYS_MISSING', `${spec.name} needs ${spec.gateways.required} live gateway${spec.gateways.required === 1 ? '' : 's'} for /${prefix}/, ${which} answering; nothing was changed`, {
    suggestion: 'Start `forrest gateway` for this prefix on every load balancer (or lower gateways.required), then deploy again.',
  })
}
