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
import type { StatusReport } from '../../src/verbs/status.js'
import type { AppStatus, InstanceStatus } from '../../src/verbs/status-drift.js'
import { formatStatus } from '../../src/report/status-format.js'

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

/**
 * Time of `large` over time of `small`, each the best of 5, run alternately so both see the same
 * machine. Comparing equal amounts of work (ten small inputs against one ten times larger) gives
 * about 1 for linear code and about 10 for quadratic, with little noise.
 */
function paired(small: () => unknown, large: () => unknown, budgetMs = 10_000): number {
  const t0 = performance.now()
  small() // warm up the JIT on both
  large()
  let [bestSmall, bestLarge] = [Infinity, Infinity]
  for (let r = 0; r < 5 && (r === 0 || performance.now() - t0 < budgetMs); r++) {
    bestSmall = Math.min(bestSmall, bestMs(small, { runs: 1 }))
    bestLarge = Math.min(bestLarge, bestMs(large, { runs: 1 }))
  }
  return bestLarge / bestSmall
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

  it('10,000 instances cost about what ten plans of 1,000 do, not 10× more (maxSurge 1 and 25%)', () => {
    for (const surge of [() => 1, (n: number) => n / 4]) {
      const [small, large] = [1_000, 10_000].map((n) => ({ t: target(n, surge(n)), o: observed(n) }))
      const tenSmall = () => {
        for (let k = 0; k < 10; k++) planAndSimulate(small!.t, small!.o)
      }
      const ratio = paired(tenSmall, () => planAndSimulate(large!.t, large!.o))
      // The same number of instances: linear is 1× (sorting makes it a little more); quadratic is 10×.
      expect(ratio).toBeLessThan(3)
    }
  })
})

describe('status formatting scales linearly', () => {
  const report = (n: number): StatusReport => {
    const instances = Array.from(
      { length: n },
      (_, k): InstanceStatus => ({
        name: `web-r2-${k + 1}`,
        container: String(k + 1).padStart(12, '0'),
        address: `10.0.0.1:${20_000 + (k % 40_000)}`,
        revision: 2,
        state: 'running',
        registered: k % 10 !== 0,
        health: k % 7 === 0 ? 'unhealthy' : 'healthy',
        healthDetail: k % 7 === 0 ? 'HTTP 503' : 'HTTP 200',
        uptimeSeconds: k * 37,
      }),
    )
    const app: AppStatus = {
      app: 'web',
      revision: 2,
      image: 'web:2',
      imageId: 'sha256:0123456789abcdef',
      prefix: 'app/servers',
      foreign: [],
      gateways: [],
      desired: n,
      healthy: 0,
      registered: n,
      running: n,
      instances,
      drift: instances.filter((i) => !i.registered).map((i) => ({ kind: 'container-without-key', instance: i.name, message: `${i.name}: no key` })),
      converged: false,
    }
    return { apps: [app], converged: false }
  }

  it('formats 15,000 instance rows in under 1 s', () => {
    const r = report(15_000)
    const lines = formatStatus(r)
    expect(lines).toHaveLength(1 + 15_004 + 1 + 1_500) // summary, table (3 border lines + head), drift heading and list
    expect(bestMs(() => formatStatus(r), { enoughMs: 1000 })).toBeLessThan(1000)
  })

  it('15,000 rows cost about what ten tables of 1,500 do, not 10× more', () => {
    const small = report(1_500)
    const large = report(15_000)
    const tenSmall = () => {
      for (let k = 0; k < 10; k++) formatStatus(small)
    }
    const ratio = paired(tenSmall, () => formatStatus(large))
    // The same number of rows: linear is 1× (a little more, as the large table's strings live
    // longer for the GC); quadratic is 10×.
    expect(ratio).toBeLessThan(3)
  })
})
