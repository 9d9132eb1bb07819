import type { Context } from '../context.js'
import { receivedShare, type CanaryAnalysis } from '../plan/canary.js'
import { splitWeights } from '../plan/weights.js'
import { analyseCanary, type CanaryRun } from './canary.js'
import { applyWeights, type WeightDeps, type WeightTarget } from './weights.js'

/**
 * A canary by share of traffic (update.canary.traffic / steps): the canary instances were
 * announced at weight 0 (checked by HAProxy, serving nothing); each step sets the weights that
 * give them the step's share whatever the instance counts, waits for every gateway to have them
 * in HAProxy, and judges the window's counters. The first failed step ends it. Whatever the
 * outcome, the stable instances are back at the default weight before this returns or throws,
 * and a failed canary is at weight 0: the rollback that withdraws it never leaves the stable
 * instances at a step's low weight (at 100% they are at 0).
 */
export async function analyseWeightedCanary(ctx: Context, deps: WeightDeps, run: CanaryRun & { shares: number[] }, onStep?: (a: CanaryAnalysis) => Promise<void>): Promise<CanaryAnalysis> {
  const steps: NonNullable<CanaryAnalysis['steps']> = []
  let windowMs = 0
  const weightsOf = (canary: WeightTarget, stable: WeightTarget) => new Map<string, WeightTarget>([...run.canary.map((n) => [n, canary] as const), ...run.stable.map((n) => [n, stable] as const)])
  // Failed or interrupted: the stable instances back to the default, the canary out of rotation.
  const standDown = () => applyWeights(deps, run.prefix, weightsOf(0, 'default'))
  let last: CanaryAnalysis | undefined
  try {
    for (const asked of run.shares) {
      const split = splitWeights(run.canary.length, run.stable.length, asked)
      await applyWeights(deps, run.prefix, weightsOf(split.canary, split.stable))
      const a = await analyseCanary(ctx, run)
      windowMs += a.windowMs
      const traffic = { asked, received: receivedShare(a), weights: { canary: split.canary, stable: split.stable } }
      steps.push({ ...traffic, verdict: a.verdict, responses: a.canary.responses })
      last = { ...a, windowMs, traffic, steps: [...steps] }
      await onStep?.(last)
      if (a.verdict === 'failed') break
    }
  } catch (err) {
    await standDown().catch(() => undefined) // the error in flight says what happened
    throw err
  }
  const analysis = last!
  if (analysis.verdict === 'failed') {
    await standDown().catch((err: unknown) => analysis.reasons.push(`and the weights could not be put back before the rollback: ${err instanceof Error ? err.message : String(err)}`))
    return analysis
  }
  // Passed: every instance back to the default weight; the rest of the rollout counts instances again.
  await applyWeights(deps, run.prefix, weightsOf('default', 'default'))
  return analysis
}
