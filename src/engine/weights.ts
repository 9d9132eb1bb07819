import { ForrestError } from '../errors.js'
import { del, put, type KvOp } from '../registry/kv-writer.js'
import { DEFAULT_WEIGHT, waitForWeights, weightKey } from '../registry/weights.js'
import type { StepDeps } from './steps.js'

/** What a weight change needs of a rollout's step deps. */
export type WeightDeps = Pick<StepDeps, 'ctx' | 'registry' | 'gateways' | 'ackTimeoutMs'>

export interface WeightChange {
  /** Instance name → its new weight (0-256; 0 = checked, no traffic). */
  weights: ReadonlyMap<string, number>
  /** The gateways that acknowledged it, and how long they took (none: nothing to acknowledge, e.g. plain confd). */
  gateways: string[]
  ms: number
}

/** A weight, or 'default': the key is deleted and the gateways give the instance their default (100). */
export type WeightTarget = number | 'default'

/** The weight key writes for `weights` under the prefix (registry/weights.ts), to go in one transaction. */
export function weightOps(deps: Pick<StepDeps, 'ctx'>, prefix: string, weights: ReadonlyMap<string, WeightTarget>): KvOp[] {
  const root = deps.ctx.config.recordsRoot
  return [...weights].map(([name, w]) => (w === 'default' ? del(weightKey(prefix, name, root)) : put(weightKey(prefix, name, root), String(w))))
}

/**
 * Sets instances' traffic weights in one fenced transaction, then waits until every gateway
 * live when the rollout began has them in HAProxy (read back, see waitForWeights). A gateway
 * that has another weight by the deadline, or whose lease expired, fails the step: its HAProxy
 * would send the instances another share of the traffic than the rollout is judging.
 */
export async function applyWeights(deps: WeightDeps, prefix: string, targets: ReadonlyMap<string, WeightTarget>): Promise<WeightChange> {
  const t0 = Date.now()
  const weights = new Map([...targets].map(([n, w]) => [n, w === 'default' ? DEFAULT_WEIGHT : w]))
  if (weights.size === 0) return { weights, gateways: [], ms: 0 }
  await deps.registry.write(weightOps(deps, prefix, targets))
  const root = deps.ctx.config.recordsRoot
  const ack = await waitForWeights(deps.ctx.etcd, prefix, weights, { timeoutMs: deps.ackTimeoutMs, root, expected: deps.gateways(prefix) })
  if (ack.outcome === 'failed') {
    const asked = [...weights].map(([n, w]) => `${n} ${w}`).join(', ')
    throw new ForrestError('ROLLOUT_FAILED', `the weights (${asked}) were written, but not every load balancer applied them:\n    ${(ack.problems ?? []).join('\n    ')}`, {
      suggestion: "Check that gateway's log (`forrest gateway` prints every weight it sets); a gateway older than weights publishes none and must be upgraded before a weighted rollout.",
    })
  }
  return { weights, gateways: ack.gateways, ms: Date.now() - t0 }
}

/** Deletes instances' weight keys (back to the gateways' default weight, 100) and waits for every gateway to apply it. */
export function clearWeights(deps: WeightDeps, prefix: string, names: readonly string[]): Promise<WeightChange> {
  return applyWeights(deps, prefix, new Map(names.map((n) => [n, 'default' as const])))
}
