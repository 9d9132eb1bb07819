/**
 * Growth with the number of instances (issue #18). These guard the shape of the cost, not a speed:
 * the bounds are several times what a linear implementation needs on a loaded 2-core machine,
 * and far below what a quadratic one takes (the planner took 20 s for 10,000 instances with
 * maxSurge 1, the status table 25 s for 15,000 rows). Each figure is the best of a few runs, so
 * one GC pause or a neighbour's burst does not fail the build. bench/scale.mjs prints the numbers.
 */
import { performance } from 'node:perf_hooks'
import { describe, expect, it } from 'vitest'
import { instanceName, planRollout, simulatePlan, type ObservedState, type RolloutTarget } from '../../src/plan/index.js'

/** Best (least) time of up to `runs` calls; stops early once a run is under `enoughMs` or the runs so far took over `budgetMs`. */
function bestMs(fn: () => unknown, { runs = 3, enoughMs = 0, budgetMs = 10_000 } = {}): number {
  let best = Infinity
  let spent = 0
  for (let r = 0; r < runs && best >= enoughMs && spent < budgetMs; r++) {
    const t0 = performance.now()
    fn()
    const ms = performance.now() - t0
    best = Math.min(best, ms)
    spent += ms
  }
  return best
}

describe('planner and simulator scale linearly', () => {
  const observed = (n: number): ObservedState => ({
    app: 'big',
    currentRevision: 1,
    instances: Array.from({ length: n }, (_, i) => ({ name: instanceName('big', 1, i + 1), containerId: `c${i + 1}`, revision: 1, running: true, registered: true })),
  })
  const target = (n: number, maxSurge = 1): RolloutTarget => ({ revision: 2, replicas: n, maxSurge, maxUnavailable: 0, order: 'start-first' })
  const planAndSimulate = (t: RolloutTarget, o: ObservedState) => simulatePlan(planRollout(t, o), o, t)

  it('replaces 10,000 instances one at a time (maxSurge 1) in under 500 ms', () => {
    const o = observed(10_000)
    const t = target(10_000)
    const sim = planAndSimulate(t, o)
    expect(sim.violations).toEqual([])
    expect(sim.trace).toHaveLength(20_000) // 10,000 waves of one start and one retire
    expect(bestMs(() => planAndSimulate(t, o), { enoughMs: 500 })).toBeLessThan(500)
  })

  it('4× the instances cost well under 16× the time (2,500 → 10,000, maxSurge 1 and 25%)', () => {
    for (const surge of [() => 1, (n: number) => n / 4]) {
      const [small, large] = [2_500, 10_000].map((n) => {
        const o = observed(n)
        const t = target(n, surge(n))
        planAndSimulate(t, o) // warm up the JIT at this size
        return bestMs(() => planAndSimulate(t, o), { runs: 5 })
      })
      // Linear is 4×; quadratic is 16×. Under 1 ms the ratio is noise, so give the small size a floor.
      expect(large! / Math.max(small!, 1)).toBeLessThan(10)
    }
  })
})
