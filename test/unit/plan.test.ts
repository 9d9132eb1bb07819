import { describe, expect, it } from 'vitest'
import { ForrestError } from '../../src/errors.js'
import {
  describePlan,
  freshInstanceNames,
  instanceKey,
  instanceName,
  instanceNameFromKey,
  nameAllocator,
  parseInstanceName,
  planRollout,
  simulatePlan,
  type ObservedInstance,
  type ObservedState,
  type RolloutPlan,
  type RolloutTarget,
} from '../../src/plan/index.js'

const APP = 'myapp'

/** Serving (running + registered) instances of a revision, by ordinal. */
const serving = (revision: number, ...ordinals: number[]): ObservedInstance[] =>
  ordinals.map((o) => ({ name: instanceName(APP, revision, o), containerId: `c-${revision}-${o}`, revision, running: true, registered: true, address: `10.0.0.1:${30000 + o}` }))
const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from)

const observed = (instances: ObservedInstance[], currentRevision?: number): ObservedState => ({ app: APP, currentRevision, instances })
const target = (revision: number, replicas: number, maxSurge = 1, maxUnavailable = 0, order: RolloutTarget['order'] = 'start-first'): RolloutTarget => ({
  revision,
  replicas,
  maxSurge,
  maxUnavailable,
  order,
})

/** Plan, then walk it: every bound holds at every step and the end state is exactly right. */
function planAndCheck(t: RolloutTarget, o: ObservedState): RolloutPlan {
  const plan = planRollout(t, o)
  const sim = simulatePlan(plan, o, t)
  expect(sim.violations).toEqual([])
  expect(sim.instances.map((i) => i.revision)).toEqual(Array(t.replicas).fill(t.revision))
  return plan
}

const names = (plan: RolloutPlan) =>
  plan.waves.map((w) => ({ order: w.order, starts: w.starts.map((s) => `${s.kind} ${s.instance}`), retires: w.retires.map((r) => `${r.instance} ${r.reason}`) }))

describe('naming and keys', () => {
  it('names instances app-rREV-ORDINAL and parses them back', () => {
    expect(instanceName('myapp', 2, 1)).toBe('myapp-r2-1')
    expect(parseInstanceName('myapp', 'myapp-r12-3')).toEqual({ revision: 12, ordinal: 3 })
    expect(parseInstanceName('myapp', 'my-r1-1')).toBeUndefined()
    expect(parseInstanceName('my', 'my-app-r1-1')).toBeUndefined()
  })

  it('picks the smallest free ordinals', () => {
    expect(freshInstanceNames('a', 2, 3, ['a-r2-1', 'a-r2-3', 'a-r1-2'])).toEqual(['a-r2-2', 'a-r2-4', 'a-r2-5'])
    expect(freshInstanceNames('a', 2, 0, [])).toEqual([])
  })

  it('keeps handing out the smallest free ordinals across calls, per revision', () => {
    const names = nameAllocator('a', ['a-r2-1', 'a-r2-3', 'a-r1-2'])
    expect(names.next(2, 1)).toEqual(['a-r2-2'])
    expect(names.next(2, 2)).toEqual(['a-r2-4', 'a-r2-5'])
    expect(names.next(1, 2)).toEqual(['a-r1-1', 'a-r1-3'])
    expect(names.next(2, 0)).toEqual([])
    expect(names.next(2, 1)).toEqual(['a-r2-6'])
  })

  it('names exactly as a scan from ordinal 1 over everything taken so far would', () => {
    // The allocator resumes at a per-revision cursor; the definition scans from 1 every time.
    let seed = 7
    const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n)
    for (let trial = 0; trial < 200; trial++) {
      const taken = range(random(30)).map(() => instanceName('a', 1 + random(3), 1 + random(40)))
      const names = nameAllocator('a', taken)
      const used = new Set(taken)
      for (let call = 0; call < 10; call++) {
        const [revision, count] = [1 + random(3), random(5)]
        const expected: string[] = []
        for (let ordinal = 1; expected.length < count; ordinal++) {
          const name = instanceName('a', revision, ordinal)
          if (!used.has(name)) expected.push(name)
        }
        expected.forEach((name) => used.add(name))
        expect(names.next(revision, count)).toEqual(expected)
      }
    }
  })

  it.each(['app/servers', '/app/servers', 'app/servers/', '//app/servers//'])('normalises prefix %j', (prefix) => {
    expect(instanceKey(prefix, 'myapp-r1-1')).toBe('/app/servers/myapp-r1-1')
    expect(instanceNameFromKey(prefix, '/app/servers/myapp-r1-1')).toBe('myapp-r1-1')
    expect(instanceNameFromKey(prefix, '/app/servers/x/y')).toBeUndefined()
    expect(instanceNameFromKey(prefix, '/other/myapp-r1-1')).toBeUndefined()
  })
})

describe('planRollout: create, no-op, scale', () => {
  it('creates all instances in one wave', () => {
    const plan = planAndCheck(target(1, 3), observed([]))
    expect(plan).toMatchObject({ app: APP, action: 'create', fromRevision: undefined, toRevision: 1, replicas: 3 })
    expect(names(plan)).toEqual([{ order: 'start-first', starts: ['start myapp-r1-1', 'start myapp-r1-2', 'start myapp-r1-3'], retires: [] }])
  })

  it('does nothing when everything is serving the target revision', () => {
    const plan = planAndCheck(target(2, 3), observed(serving(2, 1, 2, 3), 2))
    expect(plan.action).toBe('noop')
    expect(plan.waves).toEqual([])
    expect(plan.notes).toEqual(['myapp is up to date: revision 2, 3/3 serving'])
    expect(describePlan(plan)).toEqual(['myapp is up to date: revision 2, 3/3 serving'])
  })

  it('is a no-op for replicas 0 with nothing running', () => {
    expect(planAndCheck(target(1, 0), observed([])).action).toBe('noop')
  })

  it('scales up in one wave with fresh ordinals', () => {
    const plan = planAndCheck(target(2, 5), observed(serving(2, 1, 3, 4), 2))
    expect(plan.action).toBe('scale')
    expect(names(plan)).toEqual([{ order: 'start-first', starts: ['start myapp-r2-2', 'start myapp-r2-5'], retires: [] }])
  })

  it('scales down in one wave, highest ordinals first', () => {
    const plan = planAndCheck(target(2, 2), observed(serving(2, 1, 2, 3, 4, 5), 2))
    expect(plan.action).toBe('scale')
    expect(names(plan)).toEqual([{ order: 'start-first', starts: [], retires: ['myapp-r2-5 scale-down', 'myapp-r2-4 scale-down', 'myapp-r2-3 scale-down'] }])
  })

  it('scales to 0 by retiring everything, old revisions included', () => {
    const plan = planAndCheck(target(2, 0), observed([...serving(2, 1, 2), ...serving(1, 3)], 2))
    expect(plan.waves).toHaveLength(1)
    expect(plan.waves[0]!.retires.map((r) => [r.instance, r.reason])).toEqual([
      ['myapp-r1-3', 'scale-down'],
      ['myapp-r2-2', 'scale-down'],
      ['myapp-r2-1', 'scale-down'],
    ])
  })
})

describe('planRollout: rolling update', () => {
  // [replicas, maxSurge, maxUnavailable, waves]
  const cases: Array<[number, number, number, number]> = [
    [3, 1, 0, 3],
    [3, 2, 0, 2],
    [3, 0, 1, 3],
    [3, 1, 1, 2],
    [3, 3, 0, 1],
    [10, 1, 0, 10],
    [10, 2, 0, 5],
    [10, 0, 1, 10],
    [10, 1, 1, 6],
    [10, 3, 0, 4],
  ]
  it.each(cases)('replicas %i, maxSurge %i, maxUnavailable %i: %i waves within bounds', (replicas, surge, unavailable, waves) => {
    const o = observed(serving(1, ...range(replicas)), 1)
    const plan = planAndCheck(target(2, replicas, surge, unavailable), o)
    expect(plan).toMatchObject({ action: 'update', fromRevision: 1, toRevision: 2, replicas })
    expect(plan.waves).toHaveLength(waves)
    expect(plan.waves.flatMap((w) => w.retires).every((r) => r.reason === 'replace' && r.registered && r.running)).toBe(true)
  })

  it('replaces one at a time, start-first, with maxSurge 1', () => {
    const plan = planAndCheck(target(2, 3), observed(serving(1, 1, 2, 3), 1))
    expect(describePlan(plan)).toEqual([
      'update myapp from revision 1 to revision 2: replace 3 instances with 3 (start-first, maxSurge 1, maxUnavailable 0)',
      '3 waves; at least 3 serving and at most 4 containers at every step',
      'wave 1: start myapp-r2-1; then retire myapp-r1-1 (replace)',
      'wave 2: start myapp-r2-2; then retire myapp-r1-2 (replace)',
      'wave 3: start myapp-r2-3; then retire myapp-r1-3 (replace)',
    ])
  })

  it('retires first when maxSurge is 0', () => {
    const plan = planAndCheck(target(2, 3, 0, 1), observed(serving(1, 1, 2, 3), 1))
    expect(names(plan)[0]).toEqual({ order: 'stop-first', starts: ['start myapp-r2-1'], retires: ['myapp-r1-1 replace'] })
  })

  it.each([
    [3, 1, 1],
    [3, 0, 1],
    [3, 1, 0],
    [10, 2, 3],
    [10, 0, 2],
  ])('stop-first, replicas %i, maxSurge %i, maxUnavailable %i', (replicas, surge, unavailable) => {
    const plan = planAndCheck(target(2, replicas, surge, unavailable, 'stop-first'), observed(serving(1, ...range(replicas)), 1))
    // With room to go below replicas, every wave retires before it starts.
    if (unavailable > 0) expect(plan.waves.every((w) => w.order === 'stop-first' || w.starts.length === 0)).toBe(true)
  })

  it('stop-first: retire up to maxUnavailable, then start', () => {
    const plan = planAndCheck(target(2, 3, 0, 1, 'stop-first'), observed(serving(1, 1, 2, 3), 1))
    expect(describePlan(plan).slice(-3)).toEqual([
      'wave 1: retire myapp-r1-1 (replace); then start myapp-r2-1',
      'wave 2: retire myapp-r1-2 (replace); then start myapp-r2-2',
      'wave 3: retire myapp-r1-3 (replace); then start myapp-r2-3',
    ])
  })

  it.each([
    [3, 5],
    [5, 2],
    [1, 4],
    [4, 1],
  ])('changes replicas %i → %i together with the revision', (from, to) => {
    for (const [surge, unavailable] of [[1, 0], [0, 1], [2, 1], [1, 2]] as const) {
      for (const order of ['start-first', 'stop-first'] as const) {
        const plan = planAndCheck(target(2, to, surge, unavailable, order), observed(serving(1, ...range(from)), 1))
        expect(plan.action).toBe('update')
      }
    }
  })

  it('3 old → 5 new uses the room the higher replica count gives', () => {
    const plan = planAndCheck(target(2, 5), observed(serving(1, 1, 2, 3), 1))
    expect(names(plan)).toEqual([
      { order: 'start-first', starts: ['start myapp-r2-1', 'start myapp-r2-2', 'start myapp-r2-3'], retires: ['myapp-r1-1 replace', 'myapp-r1-2 replace', 'myapp-r1-3 replace'] },
      { order: 'start-first', starts: ['start myapp-r2-4', 'start myapp-r2-5'], retires: [] },
    ])
  })

  it('retires the oldest revision first when a rollout was interrupted', () => {
    const plan = planAndCheck(target(3, 3), observed([...serving(2, 1), ...serving(1, 2, 3)], 2))
    expect(plan.waves[0]!.retires.map((r) => r.instance)).toEqual(['myapp-r1-2'])
  })

  it('keeps target-revision instances that already serve', () => {
    const plan = planAndCheck(target(2, 3), observed([...serving(2, 1), ...serving(1, 2, 3)], 1))
    expect(plan.waves.flatMap((w) => w.starts).map((s) => s.instance)).toEqual(['myapp-r2-2', 'myapp-r2-3'])
  })

  it('rolls an already degraded app without making it worse', () => {
    // One of three left serving: never below 1 serving, and it still converges.
    planAndCheck(target(2, 3, 1, 0), observed(serving(1, 1), 1))
  })

  it('refuses a strategy that cannot progress', () => {
    expect(() => planRollout(target(2, 3, 0, 0), observed(serving(1, 1, 2, 3), 1))).toThrow(ForrestError)
    expect(() => planRollout(target(2, -1), observed([]))).toThrow(/replicas must be an integer/)
  })
})

describe('planRollout: drift', () => {
  it('withdraws a stale key whose container is gone, then restores the count', () => {
    const stale: ObservedInstance = { name: 'myapp-r1-3', revision: 1, running: false, registered: true, address: '10.0.0.1:30003' }
    const plan = planAndCheck(target(1, 3), observed([...serving(1, 1, 2), stale], 1))
    expect(plan.action).toBe('repair')
    expect(plan.waves[0]!.retires).toEqual([{ kind: 'retire', instance: 'myapp-r1-3', revision: 1, registered: true, running: false, reason: 'stale-key' }])
    // The stale name is not reused within the plan.
    expect(names(plan)[1]).toEqual({ order: 'start-first', starts: ['start myapp-r1-4'], retires: [] })
    expect(plan.notes[0]).toMatch(/myapp-r1-3 is registered but its container is gone/)
  })

  it('removes a stopped container (registered or not) as an orphan', () => {
    const stopped: ObservedInstance = { name: 'myapp-r1-3', containerId: 'c3', revision: 1, running: false, registered: false }
    const stoppedRegistered: ObservedInstance = { ...stopped, name: 'myapp-r1-4', registered: true }
    const plan = planAndCheck(target(1, 3), observed([...serving(1, 1, 2), stopped, stoppedRegistered], 1))
    expect(plan.waves[0]!.retires.map((r) => [r.instance, r.reason, r.registered, r.running])).toEqual([
      ['myapp-r1-3', 'orphan', false, false],
      ['myapp-r1-4', 'orphan', true, false],
    ])
  })

  it('adopts a running, unregistered container of the target revision when it is needed', () => {
    const unregistered: ObservedInstance = { name: 'myapp-r2-3', containerId: 'c3', revision: 2, running: true, registered: false }
    const plan = planAndCheck(target(2, 3), observed([...serving(2, 1, 2), unregistered], 2))
    expect(plan.action).toBe('repair')
    expect(plan.waves).toEqual([{ order: 'stop-first', starts: [{ kind: 'adopt', instance: 'myapp-r2-3', revision: 2 }], retires: [] }])
  })

  it('adopts during an update, counting the adopted instance toward replicas', () => {
    const unregistered: ObservedInstance = { name: 'myapp-r2-1', containerId: 'c1', revision: 2, running: true, registered: false }
    const plan = planAndCheck(target(2, 3), observed([...serving(1, 1, 2, 3), unregistered], 1))
    expect(plan.action).toBe('update')
    expect(plan.waves[0]!.starts).toEqual([{ kind: 'adopt', instance: 'myapp-r2-1', revision: 2 }])
    expect(plan.waves.slice(1).flatMap((w) => w.starts)).toHaveLength(2)
  })

  it('removes an unregistered target container that is not needed', () => {
    const extra: ObservedInstance = { name: 'myapp-r2-4', containerId: 'c4', revision: 2, running: true, registered: false }
    const plan = planAndCheck(target(2, 3), observed([...serving(2, 1, 2, 3), extra], 2))
    expect(names(plan)).toEqual([{ order: 'stop-first', starts: [], retires: ['myapp-r2-4 orphan'] }])
  })

  it('removes a running, unregistered container of another revision', () => {
    const old: ObservedInstance = { name: 'myapp-r1-9', containerId: 'c9', revision: 1, running: true, registered: false }
    const plan = planAndCheck(target(2, 2), observed([...serving(2, 1, 2), old], 2))
    expect(plan.waves[0]!.retires).toEqual([{ kind: 'retire', instance: 'myapp-r1-9', revision: 1, registered: false, running: true, reason: 'orphan' }])
    expect(describePlan(plan).at(-1)).toBe('wave 1: retire myapp-r1-9 (orphan)')
  })
})

describe('planRollout: every small shape keeps its promises', () => {
  // Exhaustive over small shapes: replicas, old/new serving counts, strategy, order, with and without drift.
  const drift: ObservedInstance[] = [
    { name: 'myapp-r1-90', revision: 1, running: false, registered: true },
    { name: 'myapp-r2-91', containerId: 'x', revision: 2, running: true, registered: false },
  ]
  it('plans and simulates without a violation', () => {
    let plans = 0
    for (const replicas of range(6, 0))
      for (const oldCount of range(5, 0))
        for (const newCount of range(3, 0))
          for (const surge of range(3, 0))
            for (const unavailable of range(3, 0))
              for (const order of ['start-first', 'stop-first'] as const)
                for (const extra of [[], drift]) {
                  const o = observed([...serving(1, ...range(oldCount)), ...serving(2, ...range(newCount, 50)), ...extra], 1)
                  const t = target(2, replicas, surge, unavailable, order)
                  let plan: RolloutPlan
                  try {
                    plan = planRollout(t, o)
                  } catch (err) {
                    // Only a strategy that cannot move (maxSurge 0 and maxUnavailable 0) may be refused.
                    expect(surge + unavailable).toBe(0)
                    continue
                  }
                  const sim = simulatePlan(plan, o, t)
                  const what = JSON.stringify({ t, oldCount, newCount, extra: extra.length })
                  expect(sim.violations, what).toEqual([])
                  // The bounds again, computed here from the trace rather than taken from the
                  // checker's verdict, so a checker that stops checking cannot pass this loop.
                  const startServing = oldCount + newCount
                  const startContainers = oldCount + newCount + extra.filter((i) => i.containerId !== undefined).length
                  expect(Math.max(startContainers, ...sim.trace.map((p) => p.containers)), what).toBeLessThanOrEqual(Math.max(startContainers, replicas + surge))
                  expect(Math.min(startServing, ...sim.trace.map((p) => p.serving)), what).toBeGreaterThanOrEqual(Math.min(startServing, replicas - unavailable))
                  plans++
                }
    expect(plans).toBeGreaterThan(3000)
  })
})

describe('simulatePlan', () => {
  const update = (replicas: number, waves: RolloutPlan['waves']): RolloutPlan => ({ app: APP, action: 'update', fromRevision: 1, toRevision: 2, replicas, notes: [], waves })
  const start = (n: number) => ({ kind: 'start', instance: `myapp-r2-${n}`, revision: 2 }) as const
  const retire = (n: number) => ({ kind: 'retire', instance: `myapp-r1-${n}`, revision: 1, registered: true, running: true, reason: 'replace' }) as const

  it('catches a plan over the ceiling: two starts at once with maxSurge 1', () => {
    const o = observed(serving(1, 1, 2), 1)
    const bad = update(2, [{ order: 'start-first', starts: [start(1), start(2)], retires: [retire(1), retire(2)] }])
    const sim = simulatePlan(bad, o, { maxSurge: 1, maxUnavailable: 0 })
    expect(sim.ceiling).toBe(3)
    expect(sim.violations).toEqual(['wave 1: after start myapp-r2-2: 4 containers > ceiling 3'])
    // The same containers one at a time stay at the ceiling and are not flagged: the bound is <=, not <.
    const good = update(2, [1, 2].map((n) => ({ order: 'start-first' as const, starts: [start(n)], retires: [retire(n)] })))
    const ok = simulatePlan(good, o, { maxSurge: 1, maxUnavailable: 0 })
    expect(Math.max(...ok.trace.map((p) => p.containers))).toBe(3)
    expect(ok.violations).toEqual([])
  })

  it('catches a plan under the floor: two retires at once with maxUnavailable 1', () => {
    const o = observed(serving(1, 1, 2, 3), 1)
    const bad = update(3, [{ order: 'stop-first', starts: [start(1), start(2), start(3)], retires: [retire(1), retire(2), retire(3)] }])
    const sim = simulatePlan(bad, o, { maxSurge: 0, maxUnavailable: 1 })
    expect(sim.floor).toBe(2)
    expect(sim.violations).toEqual([
      'wave 1: after retire myapp-r1-2: 1 serving < floor 2',
      'wave 1: after retire myapp-r1-3: 0 serving < floor 2',
      'wave 1: after start myapp-r2-1: 1 serving < floor 2',
    ])
    // One at a time touches the floor without going under it.
    const good = update(3, [1, 2, 3].map((n) => ({ order: 'stop-first' as const, starts: [start(n)], retires: [retire(n)] })))
    const ok = simulatePlan(good, o, { maxSurge: 0, maxUnavailable: 1 })
    expect(Math.min(...ok.trace.map((p) => p.serving))).toBe(2)
    expect(ok.violations).toEqual([])
  })

  it('catches a plan that breaks its promises', () => {
    const o = observed(serving(1, 1, 2), 1)
    const bad: RolloutPlan = {
      app: APP,
      action: 'update',
      fromRevision: 1,
      toRevision: 2,
      replicas: 2,
      notes: [],
      waves: [
        {
          order: 'stop-first',
          starts: [{ kind: 'start', instance: 'myapp-r2-1', revision: 2 }],
          retires: [1, 2].map((n) => ({ kind: 'retire', instance: `myapp-r1-${n}`, revision: 1, registered: true, running: true, reason: 'replace' }) as const),
        },
      ],
    }
    const sim = simulatePlan(bad, o, { maxSurge: 1, maxUnavailable: 0 })
    expect(sim.violations).toEqual([
      'wave 1: after retire myapp-r1-1: 1 serving < floor 2',
      'wave 1: after retire myapp-r1-2: 0 serving < floor 2',
      'wave 1: after start myapp-r2-1: 1 serving < floor 2',
      'end: 1 serving instances of revision 2, expected 2',
    ])
  })
})

describe('ownership and prefixes in the plan', () => {
  it('never reuses a name another environment holds on the same Docker host', () => {
    const plan = planRollout(target(1, 2), { ...observed([]), reserved: [instanceName(APP, 1, 1), instanceName(APP, 1, 2)] })
    expect(plan.waves[0]!.starts.map((s) => s.instance)).toEqual([instanceName(APP, 1, 3), instanceName(APP, 1, 4)])
  })

  it('adopts an unregistered container of the target revision only when its template hash matches', () => {
    const stray = { name: instanceName(APP, 2, 1), containerId: 'c', revision: 2, running: true, registered: false, template: 'other' }
    const plan = planRollout({ ...target(2, 1), templateHash: 'mine' }, observed([stray]))
    expect(names(plan)[0]).toEqual({ order: 'stop-first', starts: [], retires: [`${stray.name} orphan`] })
    const same = planRollout({ ...target(2, 1), templateHash: 'mine' }, observed([{ ...stray, template: 'mine' }]))
    expect(names(same)[0]!.starts).toEqual([`adopt ${stray.name}`])
  })

  it('retires an instance under its own prefix (a prefix migration withdraws the old key where it is)', () => {
    const old = serving(1, 1, 2).map((i) => ({ ...i, prefix: 'old/servers' }))
    const plan = planAndCheck(target(2, 2), observed(old, 1))
    expect(plan.waves.flatMap((w) => w.retires).map((r) => r.prefix)).toEqual(['old/servers', 'old/servers'])
  })
})

describe('placement across hosts', () => {
  const on = (host: string, revision: number, ...ordinals: number[]) => serving(revision, ...ordinals).map((i) => ({ ...i, host }))
  const hostsOf = (plan: RolloutPlan) => plan.waves.flatMap((w) => w.starts.map((s) => s.host))
  const count = (xs: Array<string | undefined>) => xs.reduce((m, h) => m.set(h!, (m.get(h!) ?? 0) + 1), new Map<string, number>())

  it('spreads a new app evenly, hosts in inventory order breaking ties', () => {
    const plan = planAndCheck({ ...target(1, 7, 7), hosts: ['h1', 'h2', 'h3'] }, observed([]))
    expect(count(hostsOf(plan))).toEqual(new Map([['h1', 3], ['h2', 2], ['h3', 2]]))
  })

  it('moves nothing when already balanced (a re-deploy of the same revision is a no-op)', () => {
    const plan = planRollout({ ...target(1, 4), hosts: ['h1', 'h2'] }, observed([...on('h1', 1, 1, 2), ...on('h2', 1, 3, 4)], 1))
    expect(plan.action).toBe('noop')
  })

  it('a rolling update replaces each old instance on the host that needs one, keeping the global bounds', () => {
    const plan = planAndCheck({ ...target(2, 4), hosts: ['h1', 'h2'] }, observed([...on('h1', 1, 1, 2), ...on('h2', 1, 3, 4)], 1))
    expect(count(hostsOf(plan))).toEqual(new Map([['h1', 2], ['h2', 2]]))
  })

  it('rebalances onto a host that joined, within the bounds, and off a host that left', () => {
    const joined = planAndCheck({ ...target(1, 4), hosts: ['h1', 'h2'] }, observed(on('h1', 1, 1, 2, 3, 4), 1))
    expect(count(hostsOf(joined))).toEqual(new Map([['h2', 2]]))
    expect(joined.waves.flatMap((w) => w.retires).map((r) => `${r.host} ${r.reason}`)).toEqual(['h1 rebalance', 'h1 rebalance'])
    const left = planAndCheck({ ...target(1, 4), hosts: ['h1'] }, observed([...on('h1', 1, 1, 2), ...on('h2', 1, 3, 4)], 1))
    expect(count(hostsOf(left))).toEqual(new Map([['h1', 2]]))
    expect(left.waves.flatMap((w) => w.retires).map((r) => r.host)).toEqual(['h2', 'h2'])
  })

  it('keeps the extra instance on the host that already runs more (stability on an odd count)', () => {
    const plan = planRollout({ ...target(1, 3), hosts: ['h1', 'h2'] }, observed([...on('h1', 1, 1), ...on('h2', 1, 2, 3)], 1))
    expect(plan.action).toBe('noop')
  })
})
