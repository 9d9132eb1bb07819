import { describe, expect, it } from 'vitest'
import { ForrestError } from '../../src/errors.js'
import { withCanary } from '../../src/plan/canary.js'
import { instanceName, planRollout, type ObservedInstance } from '../../src/plan/index.js'
import { canaryShares, splitWeights } from '../../src/plan/weights.js'
import { loadSpec, type SpecProblem } from '../../src/spec/index.js'
import { formatWeight } from '../../src/report/status-format.js'
import { weightOf } from '../../src/verbs/status-weights.js'

describe('splitWeights: a share of requests as HAProxy weights', () => {
  it.each([
    // canaries, stable, share asked → canary weight, stable weight
    [1, 10, 0.05, 53, 100],
    [1, 9, 0.05, 47, 100],
    [1, 3, 0.05, 16, 100],
    [2, 10, 0.05, 26, 100],
    [1, 10, 0.25, 250, 75],
    [1, 9, 0.5, 252, 28],
    [1, 3, 0.5, 255, 85],
    [1, 10, 1, 100, 0],
    [1, 0, 0.05, 100, 0],
  ])('%i canary among %i stable at %f: weights %i / %i', (nc, ns, share, wc, ws) => {
    const s = splitWeights(nc, ns, share)
    expect([s.canary, s.stable]).toEqual([wc, ws])
    expect(s.canary).toBeLessThanOrEqual(256)
    expect(s.stable).toBeLessThanOrEqual(256)
    // Within 0.3 points of the share (integer weights), and the share it states is the one they give.
    if (ns > 0 && share < 1) {
      expect(Math.abs(s.share - share)).toBeLessThan(0.003)
      expect(s.share).toBeCloseTo((nc * wc) / (nc * wc + ns * ws), 10)
    }
  })

  it('gives every share from 0.5% to 99% within half a point whatever the instance counts (1-3 canaries, 1-50 stable), or the most weights allow', () => {
    for (const nc of [1, 2, 3]) for (const ns of [1, 2, 5, 9, 10, 20, 50]) for (const p of [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) {
      const s = splitWeights(nc, ns, p)
      // 256 against 1 is HAProxy's widest ratio: 1 canary among 50 stable gets at most 83.7% short of 100%.
      const most = (nc * 256) / (nc * 256 + ns)
      const least = nc / (nc + 256 * ns) // and 1 against 256 its narrowest: 3 canaries against 1 stable get at least 1.2%
      if (p > most) expect([s.canary, s.stable]).toEqual([256, 1])
      else if (p < least) expect([s.canary, s.stable]).toEqual([1, 256])
      else expect(Math.abs(s.share - p), `${nc}/${ns} at ${p}: ${JSON.stringify(s)}`).toBeLessThan(0.005)
      expect(s.canary).toBeGreaterThanOrEqual(1)
      expect(s.stable).toBeGreaterThanOrEqual(1)
    }
  })
})

describe('update.canary.traffic and steps', () => {
  const spec = (canary: string) => `name: a\nimage: demo/myapp:1\nupdate:\n  canary:\n${canary}`
  const problems = (canary: string): string[] => {
    try {
      loadSpec(spec(canary), 'a.yml')
    } catch (err) {
      expect(err).toBeInstanceOf(ForrestError)
      expect((err as ForrestError).code).toBe('INVALID_SPEC')
      return ((err as ForrestError).detail as { problems: SpecProblem[] }).problems.map((p) => `${p.path}: ${p.message}`)
    }
    return []
  }

  it('reads a share and steps; a count-only canary has no shares', () => {
    expect(canaryShares(loadSpec(spec('    traffic: 5%\n'), 'a.yml').update.canary)).toEqual([0.05])
    expect(canaryShares(loadSpec(spec('    steps: [5%, 25%, 50%, 100%]\n'), 'a.yml').update.canary)).toEqual([0.05, 0.25, 0.5, 1])
    expect(canaryShares(loadSpec(spec('    traffic: 0.5%\n    steps: [0.5%, 10%]\n'), 'a.yml').update.canary)).toEqual([0.005, 0.1])
    expect(canaryShares(loadSpec(spec('    count: 2\n'), 'a.yml').update.canary)).toBeUndefined()
  })

  it.each([
    ['    traffic: 0%\n', /update\.canary\.traffic: a share of 0% would send the canary nothing/],
    ['    traffic: 150%\n', /update\.canary\.traffic: expected a share of requests from "0\.01%" to "100%", like "5%", got "150%"/],
    ['    traffic: 5\n', /update\.canary\.traffic: expected a share of requests like "5%"/],
    ['    steps: [25%, 5%]\n', /update\.canary\.steps: each step must give the canary more traffic than the one before/],
    ['    steps: []\n', /update\.canary\.steps: expected at least one share/],
    ['    traffic: 5%\n    steps: [10%, 50%]\n', /update\.canary\.traffic: traffic is the first of steps/],
  ])('refuses %j', (canary, message) => {
    expect(problems(canary).join('\n')).toMatch(message)
  })
})

describe('withCanary with shares', () => {
  const serving = (n: number): ObservedInstance[] =>
    Array.from({ length: n }, (_, i) => ({ name: instanceName('a', 1, i + 1), containerId: `c${i}`, revision: 1, running: true, registered: true, address: `10.0.0.1:${30001 + i}` }))
  it('announces the canary at weight 0 (its first step gives it its share) and says so; the rest of the plan is unchanged', () => {
    const plain = planRollout({ revision: 2, replicas: 10, maxSurge: 2, maxUnavailable: 0, order: 'start-first' }, { app: 'a', currentRevision: 1, instances: serving(10) })
    const weighted = withCanary(plain, 1, { shares: [0.05, 0.25, 1] })
    const counted = withCanary(plain, 1)
    expect(weighted.waves[0]!.starts.map((s) => (s.kind === 'start' ? s.weight : 'adopt'))).toEqual([0])
    expect(counted.waves[0]!.starts.map((s) => (s.kind === 'start' ? s.weight : 'adopt'))).toEqual([undefined])
    expect(weighted.waves.slice(1)).toEqual(counted.waves.slice(1))
    expect(weighted.notes.at(-1)).toMatch(/^canary: 1 instance of revision 2 first \(a-r2-\d+\), given 5% → 25% → 100% of requests through weights, judged at each step before the rest$/)
  })
})

describe('status: weights as the gateways report them', () => {
  const gw = (id: string, weights?: Record<string, number>) => ({ id, host: 'h', revision: 1, ...(weights ? { weights } : {}) })
  it('one weight when every gateway agrees, per gateway when not, none from gateways older than weights', () => {
    expect(weightOf('a', [gw('g1', { a: 53 }), gw('g2', { a: 53 })])).toEqual({ weight: 53 })
    expect(weightOf('a', [gw('g1', { a: 25 }), gw('g2', { a: 100 })])).toEqual({ weightByGateway: { g1: 25, g2: 100 } })
    expect(weightOf('a', [gw('g1'), gw('g2', { b: 1 })])).toEqual({})
    expect([formatWeight({ weight: 53 }), formatWeight({ weight: 0 }), formatWeight({}), formatWeight({ weightByGateway: { g1: 25, g2: 100 } })]).toEqual(['53', '0 (no traffic)', '-', 'g1 25, g2 100'])
  })
})
