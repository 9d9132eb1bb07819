import type { CanaryAnalysis } from '../plan/canary.js'
import type { ObservedInstance, RolloutPlan } from '../plan/types.js'
import type { ExecutionReport, ReleaseReport, RolloutResult } from './types.js'

/** Builds the rollout's result for an outcome (instances: as observed at the start unless given). */
export type ResultOf = (outcome: RolloutResult['outcome'], report?: ExecutionReport, instances?: ObservedInstance[]) => RolloutResult

export function resultOf(x: {
  app: string
  revision: number
  fromRevision?: number
  replicas: number
  plan: RolloutPlan
  changes: string[]
  t0: number
  instances: ObservedInstance[]
  /** The canary analysis, once the execute phase has made one. */
  canary: () => CanaryAnalysis | undefined
  /** The release command's report, once the release phase has run one. */
  release?: () => ReleaseReport | undefined
}): ResultOf {
  return (outcome, report, instances = x.instances) => {
    const canary = x.canary()
    const release = x.release?.()
    return {
      app: x.app,
      outcome,
      revision: x.revision,
      fromRevision: x.fromRevision,
      replicas: x.replicas,
      plan: x.plan,
      instances: instances.map(({ name, revision: r, address, registered, running, process }) => ({ name, revision: r, address, registered, running, ...(process ? { process } : {}) })),
      ...(x.plan.processes ? { processes: x.plan.processes } : {}),
      timings: { totalMs: Date.now() - x.t0, steps: report?.steps ?? [] },
      notes: x.plan.notes,
      changes: x.changes,
      ...(canary ? { canary } : {}),
      ...(release ? { release } : {}),
    }
  }
}
