import { describe, expect, it } from 'vitest'
import { planRollout } from '../../src/plan/plan-rollout.js'
import { webObserved, withWorkers } from '../../src/plan/processes.js'
import { planFlow, replay, runnable, segments } from '../../src/plan/schedule.js'
import { simulatePlan } from '../../src/plan/simulate.js'
import { exploreFlow } from '../../src/plan/simulate-schedule.js'
import type { ObservedInstance, ObservedState, RolloutTarget } from '../../src/plan/types.js'

const APP = 'speed-web'
const inst = (n: number, revision: number, host?: string, extra: Partial<ObservedInstance> = {}): ObservedInstance => ({
  name: `${APP}-r${revision}-${n}`, containerId: `c${revision}-${n}`, revision, running: true, registered: true, ...(host ? { host } : {}), ...extra,
})

/** Plans, then walks every order in which each flow's steps can finish: bounds kept, never stuck, same end as the waves. */
function checkAll(t: RolloutTarget, o: ObservedState) {
  const plan = planRollout(t, o)
  const sim = simulatePlan(plan, o, t)
  expect(sim.violations).toEqual([])
  let states = 0
  for (const seg of segments(plan.waves)) {
    if (seg.kind !== 'flow') continue
    const atStart = replay(o.instances, plan.waves.slice(0, seg.waves[0]))
    const flow = planFlow(plan.waves, seg.waves, atStart)
    const res = exploreFlow(flow, plan.waves, atStart, { floor: sim.floor, ceiling: sim.ceiling })
    expect(res.violations, JSON.stringify({ t, o: o.instances.map((i) => i.name) })).toEqual([])
    states += res.states
  }
  return { plan, states }
}

describe('schedule: steps as soon as the bounds allow (#30)', () => {
  const strategies = [
    { maxSurge: 1, maxUnavailable: 0, order: 'start-first' as const },
    { maxSurge: 2, maxUnavailable: 0, order: 'start-first' as const },
    { maxSurge: 0, maxUnavailable: 1, order: 'stop-first' as const },
    { maxSurge: 1, maxUnavailable: 1, order: 'start-first' as const },
    { maxSurge: 1, maxUnavailable: 1, order: 'stop-first' as const },
    { maxSurge: 5, maxUnavailable: 0, order: 'start-first' as const },
  ]
  const fleets: Array<[string, string[] | undefined]> = [['one host', undefined], ['two hosts', ['h1', 'h2']], ['three hosts', ['h1', 'h2', 'h3']]]
  for (const [label, hosts] of fleets) {
    for (const s of strategies) {
      it('every finishing order keeps the bounds and ends as the waves do: ' + `${label}, ${s.order} surge ${s.maxSurge} unavailable ${s.maxUnavailable}`, () => {
        let total = 0
        for (const [from, to] of [[3, 3], [4, 4], [2, 5], [5, 2], [0, 3], [4, 0]] as const) {
          const old = Array.from({ length: from }, (_, i) => inst(i + 1, 1, hosts?.[i % hosts.length]))
          total += checkAll({ revision: 2, replicas: to, ...s, ...(hosts ? { hosts } : {}) }, { app: APP, currentRevision: 1, instances: old }).states
          // a scale within the same revision, and an uneven fleet (everything on the first host)
          total += checkAll({ revision: 1, replicas: to, ...s, ...(hosts ? { hosts } : {}) }, { app: APP, currentRevision: 1, instances: old }).states
          if (hosts) total += checkAll({ revision: 2, replicas: to, ...s, hosts }, { app: APP, currentRevision: 1, instances: old.map((i) => ({ ...i, host: hosts[0] })) }).states
        }
        expect(total).toBeGreaterThan(0)
      })
    }
  }

  it('a serial rollout: the next start begins with the retire it allows, not after it', () => {
    const o: ObservedState = { app: APP, currentRevision: 1, instances: [inst(1, 1), inst(2, 1), inst(3, 1)] }
    const plan = planRollout({ revision: 2, replicas: 3, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, o)
    expect(plan.waves).toHaveLength(3)
    const [seg] = segments(plan.waves)
    expect(seg).toEqual({ kind: 'flow', waves: [0, 1, 2] })
    const flow = planFlow(plan.waves, [0, 1, 2], o.instances)
    const names = (ix: number[]) => ix.map((i) => `${flow.steps[i]!.kind} ${flow.steps[i]!.instance}`)
    expect(names(runnable(flow, ['pending', 'pending', 'pending', 'pending', 'pending', 'pending']))).toEqual([`start ${APP}-r2-1`])
    // start 1 done: its retire and the next start begin together (waves: the start waits for the retire's drain)
    expect(names(runnable(flow, ['done', 'pending', 'pending', 'pending', 'pending', 'pending']))).toEqual([`retire ${APP}-r1-1`, `start ${APP}-r2-2`])
    // while start 1 runs nothing else may begin: one container over, no one serving less
    expect(runnable(flow, ['running', 'pending', 'pending', 'pending', 'pending', 'pending'])).toEqual([])
  })

  it('hosts do not wait for each other: a fast host goes on while a slow one is still starting', () => {
    const hosts = ['h1', 'h2']
    const o: ObservedState = { app: APP, currentRevision: 1, instances: [1, 2, 3, 4].map((n) => inst(n, 1, hosts[(n - 1) % 2])) }
    const plan = planRollout({ revision: 2, replicas: 4, maxSurge: 2, maxUnavailable: 0, order: 'start-first', hosts }, o)
    const flow = planFlow(plan.waves, plan.waves.map((_, i) => i), o.instances)
    const state = flow.steps.map(() => 'pending' as 'pending' | 'running' | 'done')
    for (const i of runnable(flow, state)) state[i] = 'running'
    const h1Start = flow.steps.findIndex((s) => s.kind === 'start' && s.host === 'h1')
    state[h1Start] = 'done' // h1's start is done, h2's still running
    const next = runnable(flow, state).map((i) => flow.steps[i]!)
    expect(next.some((s) => s.kind === 'retire' && s.host === 'h1')).toBe(true)
    expect(next.some((s) => s.kind === 'start' && s.host === 'h1')).toBe(true)
  })

  it('the drift wave, the canary wave and the blue/green switch stay barriers', () => {
    const o: ObservedState = { app: APP, currentRevision: 1, instances: [inst(1, 1), inst(2, 1, undefined, { running: false })] }
    const plan = planRollout({ revision: 2, replicas: 2, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, o)
    expect(segments(plan.waves)[0]).toEqual({ kind: 'wave', wave: 0 })
    expect(segments([{ ...plan.waves[1]!, canary: true }, plan.waves[1]!])).toEqual([{ kind: 'wave', wave: 0 }, { kind: 'flow', waves: [1] }])
    // blue/green's switch wave and a weighted start (#28) are barriers too
    expect(segments([{ ...plan.waves[1]!, switch: true }, plan.waves[1]!])).toEqual([{ kind: 'wave', wave: 0 }, { kind: 'flow', waves: [1] }])
    const weighted = { ...plan.waves[1]!, starts: plan.waves[1]!.starts.map((s) => ({ ...s, weight: 0 })) }
    expect(segments([weighted, plan.waves[1]!])).toEqual([{ kind: 'wave', wave: 0 }, { kind: 'flow', waves: [1] }])
  })

  it('web and each worker flow apart, web first; a worker retire waits for its replacement to run (#25)', () => {
    const workers = [1, 2].map((n): ObservedInstance => ({ name: `${APP}-worker-r1-${n}`, containerId: `wk${n}`, revision: 1, running: true, registered: false, process: 'worker' }))
    const o: ObservedState = { app: APP, currentRevision: 1, instances: [inst(1, 1), inst(2, 1), ...workers] }
    const t = { revision: 2, replicas: 2, maxSurge: 1, maxUnavailable: 0, order: 'start-first' as const }
    const plan = withWorkers(planRollout(t, webObserved(o)), [{ ...t, process: 'worker', stopGracePeriod: 1000 }], o, { ...t, stopGracePeriod: 1000 })
    const segs = segments(plan.waves)
    expect(segs.map((g) => g.kind)).toEqual(['flow', 'flow'])
    const [webFlow, workerFlow] = segs as Array<{ kind: 'flow'; waves: number[] }>
    expect(webFlow!.waves.flatMap((w) => [...plan.waves[w]!.starts, ...plan.waves[w]!.retires]).every((s) => s.process === undefined)).toBe(true)
    const atStart = replay(o.instances, plan.waves.slice(0, workerFlow!.waves[0]))
    const flow = planFlow(plan.waves, workerFlow!.waves, atStart)
    expect(flow.steps.every((s) => s.process === 'worker')).toBe(true)
    // first the new worker only: no old one stops before its replacement runs
    expect(runnable(flow, flow.steps.map(() => 'pending')).map((i) => flow.steps[i]!.kind)).toEqual(['start'])
    const sim = simulatePlan(plan, o, t)
    for (const seg of segs as Array<{ kind: 'flow'; waves: number[] }>) {
      const at = replay(o.instances, plan.waves.slice(0, seg.waves[0]))
      const f = planFlow(plan.waves, seg.waves, at)
      // the worker's own bounds: the waves' (its floor is 2 running, its ceiling 3)
      expect(exploreFlow(f, plan.waves, at, { floor: 0, ceiling: sim.ceiling + 10 }).violations).toEqual([])
    }
    expect(flow.bounds.get('worker')).toEqual({ floor: 2, ceiling: 3 })
  })
})
