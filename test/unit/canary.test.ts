import { describe, expect, it } from 'vitest'
import { judgeCanary, trafficBetween, withCanary, type CounterSnapshot, type TrafficFigures } from '../../src/plan/canary.js'
import type { RevisionRecord } from '../../src/registry/records.js'
import { waitingRevision } from '../../src/verbs/promote.js'
import { instanceName, planRollout, type ObservedInstance, type RolloutTarget } from '../../src/plan/index.js'

const APP = 'myapp'
const serving = (revision: number, ...ordinals: number[]): ObservedInstance[] =>
  ordinals.map((o) => ({ name: instanceName(APP, revision, o), containerId: `c-${revision}-${o}`, revision, running: true, registered: true, address: `10.0.0.1:${30000 + o}` }))
const target = (revision: number, replicas: number, maxSurge = 1, maxUnavailable = 0, order: RolloutTarget['order'] = 'start-first'): RolloutTarget => ({ revision, replicas, maxSurge, maxUnavailable, order })
/** "+starts-retires" (start-first) or "-retires+starts" (stop-first); C marks the canary wave. */
const shape = (waves: ReturnType<typeof planRollout>['waves']) =>
  waves.map((w) => `${w.canary ? 'C' : ''}${w.order === 'stop-first' ? `-${w.retires.length}+${w.starts.length}` : `+${w.starts.length}-${w.retires.length}`}`)

describe('withCanary', () => {
  it.each([
    // replicas, maxSurge, maxUnavailable, canary count, expected waves (+starts -retires)
    [3, 1, 0, 1, ['C+1-0', '+0-1', '+1-1', '+1-1']],
    [3, 1, 0, 2, ['C+2-0', '+0-1', '+0-1', '+1-1']],
    [4, 2, 0, 1, ['C+1-0', '+1-2', '+2-2']],
    [3, 0, 1, 1, ['C+1-0', '-1+0', '-1+1', '-1+1']],
  ])('replicas %i, maxSurge %i, maxUnavailable %i, canary %i', (replicas, surge, unavailable, count, expected) => {
    const plain = planRollout(target(2, replicas, surge, unavailable), { app: APP, currentRevision: 1, instances: serving(1, ...Array.from({ length: replicas }, (_, i) => i + 1)) })
    const plan = withCanary(plain, count)
    expect(shape(plan.waves)).toEqual(expected)
    // Same steps, nothing lost or added; the canary wave retires nothing.
    const steps = (p: typeof plan) => p.waves.flatMap((w) => [...w.starts, ...w.retires].map((s) => s.instance)).sort()
    expect(steps(plan)).toEqual(steps(plain))
    expect(plan.waves.find((w) => w.canary)?.retires).toEqual([])
    expect(plan.notes.at(-1)).toMatch(/^canary: \d instances? of revision 2 first/)
  })

  it('leaves a create or a scale alone: no stable revision to compare with', () => {
    const create = planRollout(target(1, 3), { app: APP, instances: [] })
    expect(withCanary(create, 1)).toBe(create)
    const scale = planRollout(target(1, 5), { app: APP, currentRevision: 1, instances: serving(1, 1, 2, 3) })
    expect(withCanary(scale, 1)).toBe(scale)
  })
})

const snap = (entries: Record<string, Record<string, [number, number, number]>>): CounterSnapshot =>
  new Map(Object.entries(entries).map(([g, byName]) => [g, Object.fromEntries(Object.entries(byName).map(([n, [responses, errors5xx, rtimeMs]]) => [n, { responses, errors5xx, rtimeMs }]))]))

describe('trafficBetween', () => {
  it('sums deltas over gateways and weights rtime by responses', () => {
    const start = snap({ g1: { a: [100, 1, 3], b: [50, 0, 3] }, g2: { a: [10, 0, 3] } })
    const end = snap({ g1: { a: [200, 11, 10], b: [60, 0, 3] }, g2: { a: [110, 0, 20] } })
    expect(trafficBetween(start, end, ['a'])).toEqual({ responses: 200, errors5xx: 10, errorRate: 0.05, failures: { econ: 0, eresp: 0, wretr: 0, wredis: 0 }, failureRate: 0, rtimeMs: 15 })
  })

  it('counts a reset counter (HAProxy reloaded, server re-added) from zero, and a new gateway from zero', () => {
    const start = snap({ g1: { a: [500, 50, 3] } })
    const end = snap({ g1: { a: [40, 2, 3] }, g2: { a: [10, 0, 3] } })
    expect(trafficBetween(start, end, ['a'])).toMatchObject({ responses: 50, errors5xx: 2 })
    expect(trafficBetween(start, end, ['zz'])).toEqual({ responses: 0, errors5xx: 0, errorRate: 0, failures: { econ: 0, eresp: 0, wretr: 0, wredis: 0 }, failureRate: 0, rtimeMs: 0 })
  })
})

const fig = (responses: number, errors5xx: number, rtimeMs: number): TrafficFigures => ({ responses, errors5xx, errorRate: responses ? errors5xx / responses : 0, rtimeMs })
const thresholds = { minRequests: 20, maxErrorRateIncrease: 0.05, maxLatencyFactor: 2 }

describe('judgeCanary', () => {
  it.each([
    ['healthy canary', fig(100, 0, 4), fig(300, 0, 3), 'passed', []],
    ['as bad as stable', fig(100, 10, 4), fig(300, 30, 3), 'passed', []],
    ['just within the increase', fig(100, 5, 4), fig(300, 0, 3), 'passed', []],
    ['5xx above the increase', fig(100, 30, 4), fig(300, 0, 3), 'failed', [/5xx rate 30.0% \(30\/100\) against stable 0.0%/]],
    ['too few requests', fig(19, 0, 4), fig(300, 0, 3), 'failed', [/served 19 responses.*minRequests 20/]],
    ['slow', fig(100, 0, 400), fig(300, 0, 3), 'failed', [/response time 400 ms against stable 3 ms: 80.0x/]],
    ['a few ms is noise, not a regression', fig(100, 0, 9), fig(300, 0, 1), 'passed', []],
    ['slow at a slow baseline', fig(100, 0, 250), fig(300, 0, 100), 'failed', [/2.5x, more than maxLatencyFactor 2/]],
    ['no stable traffic: 0% baseline, no latency rule', fig(100, 3, 400), fig(0, 0, 0), 'passed', []],
    ['every rule failing says so', fig(10, 5, 400), fig(300, 0, 3), 'failed', [/minRequests/, /5xx rate/, /response time/]],
  ] as const)('%s', (_, canary, stable, verdict, reasons) => {
    const out = judgeCanary({ canary, stable, thresholds })
    expect(out.verdict).toBe(verdict)
    if (verdict === 'failed') {
      expect(out.reasons).toHaveLength(reasons.length)
      reasons.forEach((re, i) => expect(out.reasons[i]).toMatch(re))
    }
  })
})

describe('waitingRevision', () => {
  const rec = (revision: number, outcome: string) => ({ revision, outcome }) as unknown as RevisionRecord
  it('finds the newest revision held after its canary, newer than the current one', () => {
    expect(waitingRevision('web', [rec(1, 'succeeded'), rec(2, 'waiting'), rec(3, 'rolled-back')], 1).revision).toBe(2)
    expect(() => waitingRevision('web', [rec(1, 'waiting'), rec(2, 'succeeded')], 2)).toThrow(/no rollout waiting for promotion/)
  })
})
