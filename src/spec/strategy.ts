import type { RolloutTarget } from '../plan/types.js'
import { resolveCount } from './schema.js'
import type { DeploymentSpec } from './types.js'

export type ResolvedStrategy = Pick<RolloutTarget, 'maxSurge' | 'maxUnavailable' | 'order'>

/** Percentages to counts of replicas: maxSurge rounds up, maxUnavailable rounds down (as Kubernetes does). */
export function resolveStrategy(spec: Pick<DeploymentSpec, 'replicas' | 'update'>): ResolvedStrategy {
  return {
    maxSurge: resolveCount(spec.update.maxSurge, spec.replicas, 'up'),
    maxUnavailable: resolveCount(spec.update.maxUnavailable, spec.replicas, 'down'),
    order: spec.update.order,
  }
}

/** The canary's instance count: "N%" of replicas rounded up, at least 1, at most replicas. */
export function resolveCanaryCount(count: number | string, replicas: number): number {
  return Math.max(1, Math.min(replicas, resolveCount(count, replicas, 'up')))
}
