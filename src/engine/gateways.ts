import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { readGatewayAcks } from '../registry/gateway-acks.js'
import type { RolloutPlan } from '../plan/types.js'
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

/** What in a plan sets traffic weights (blue/green's switch, a traffic-share canary's weight-0 start), or undefined. Pure. */
export function weightsUsedBy(plan: RolloutPlan, spec: Pick<ResolvedSpec, 'update'>): string | undefined {
  if (plan.waves.some((w) => w.switch)) return 'update.strategy: blue-green switches traffic'
  if (plan.waves.some((w) => w.starts.some((s) => s.weight !== undefined))) {
    return `update.canary.${spec.update.canary?.steps ? 'steps' : 'traffic'} sets the canary's share of traffic`
  }
  return undefined
}

/**
 * Weights need a gateway to apply and acknowledge them: without one, confd/HAProxy routes to every
 * registered instance alike (a weight-0 standby or canary gets its round-robin share). A deploy whose
 * plan sets weights on a prefix no gateway watches is refused before anything starts.
 */
export function requireWeightGateways(spec: ResolvedSpec, plan: RolloutPlan, prefix: string, live: ReadonlySet<string> = new Set()): void {
  const uses = weightsUsedBy(plan, spec)
  if (!uses || live.size > 0) return
  throw new ForrestError('GATEWAYS_MISSING', `${spec.name}: ${uses} through HAProxy weights, but no live forrest gateway watches /${prefix}/ to apply and acknowledge them (without one the load balancer would route to every instance alike, weight 0 included); nothing was changed`, {
    suggestion: `Start \`forrest gateway --prefix ${prefix}\` on every load balancer, then deploy again; or deploy without weights: a canary by count (update.canary.count, no traffic or steps) or update.strategy: rolling.`,
  })
}
