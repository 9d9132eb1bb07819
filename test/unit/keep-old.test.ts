/**
 * update.blueGreen.keepOld: when blue/green's kept colour expires, which rollouts keep it, what
 * the current record carries afterwards, and how status says it. Pure, no I/O.
 */
import { describe, expect, it } from 'vitest'
import { withBlueGreen } from '../../src/plan/blue-green.js'
import { describeStandbyDeadline, keepsStandby, standbyAfter, standbyExpired, withoutStandby } from '../../src/plan/keep-old.js'
import { instanceName, planRollout, type ObservedInstance } from '../../src/plan/index.js'
import { standbyLine } from '../../src/report/status-format.js'
import { standbyOf } from '../../src/verbs/status-weights.js'
import { loadSpec } from '../../src/spec/index.js'

const now = new Date('2026-12-06T15:33:00.000Z')
const until = '2026-12-06T15:42:00.000Z'
const serving = (revision: number, n: number): ObservedInstance[] =>
  Array.from({ length: n }, (_, i) => ({ name: instanceName('a', revision, i + 1), containerId: `c${revision}-${i}`, revision, running: true, registered: true, address: `10.0.0.1:${30001 + i}` }))

describe('standbyExpired', () => {
  it.each([
    ['2026-12-06T15:32:59.999Z', true],
    ['2026-12-06T15:33:00.000Z', true],
    ['2026-12-06T15:33:00.001Z', false],
    [until, false],
  ])('until %s at 15:33:00 → expired %s', (u, expired) => expect(standbyExpired({ until: u }, now)).toBe(expired))
})

describe('keepsStandby: which rollouts leave the kept colour alone', () => {
  const standby = { revision: 1, until }
  const expired = { revision: 1, until: '2026-12-06T15:00:00.000Z' }
  it.each([
    ['scale before the deadline', { kind: 'scale', standby, revision: 2, currentRevision: 2 }, true],
    ['a repair (deploy of the serving revision) before the deadline', { kind: 'deploy', standby, revision: 2, currentRevision: 2 }, true],
    ['a tidy racing a rollout that renewed it', { kind: 'tidy', standby, revision: 2, currentRevision: 2 }, true],
    ['scale after the deadline', { kind: 'scale', standby: expired, revision: 2, currentRevision: 2 }, false],
    ['tidy after the deadline', { kind: 'tidy', standby: expired, revision: 2, currentRevision: 2 }, false],
    ['a deploy of a new revision', { kind: 'deploy', standby, revision: 3, currentRevision: 2 }, false],
    ['a rollback', { kind: 'rollback', standby, revision: 1, currentRevision: 2 }, false],
    ['a host drain', { kind: 'drain', standby, revision: 2, currentRevision: 2 }, false],
    ['no standby recorded', { kind: 'scale', revision: 2, currentRevision: 2 }, false],
  ])('%s → %s', (_what, x, kept) => expect(keepsStandby({ ...x, now })).toBe(kept))
})

describe('withoutStandby', () => {
  it('hides the standby from the planner but keeps its names taken; a scale then leaves it alone', () => {
    const observed = { app: 'a', currentRevision: 2, instances: [...serving(2, 2), ...serving(1, 2)] }
    const { state, kept } = withoutStandby(observed, 1)
    expect(kept).toEqual(['a-r1-1', 'a-r1-2'])
    expect(state.instances.map((i) => i.name)).toEqual(['a-r2-1', 'a-r2-2'])
    expect(state.reserved).toEqual(['a-r1-1', 'a-r1-2'])
    const scaled = planRollout({ revision: 2, replicas: 3, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, state)
    expect(scaled.waves.flatMap((w) => w.retires)).toEqual([])
    expect(scaled.waves.flatMap((w) => w.starts).map((s) => s.instance)).toEqual(['a-r2-3'])
    // Without it (the deadline passed) the same scale retires the standby.
    const unkept = planRollout({ revision: 2, replicas: 3, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, observed)
    expect(unkept.waves.flatMap((w) => w.retires).map((r) => r.instance)).toEqual(['a-r1-1', 'a-r1-2'])
  })
})

describe('standbyAfter: the current record after a successful rollout', () => {
  it('a switch keeping the replaced revision starts its deadline at now + keepOld', () => {
    expect(standbyAfter({ switched: true, keptRevision: 1, keepOldMs: 9 * 60_000, now })).toEqual({ revision: 1, until })
  })
  it('keepOld 0s keeps nothing; a rollout that kept the standby carries it; anything else drops it', () => {
    expect(standbyAfter({ switched: true, keptRevision: 1, keepOldMs: 0, now })).toBeUndefined()
    expect(standbyAfter({ switched: false, keepOldMs: 0, carried: { revision: 1, until }, now })).toEqual({ revision: 1, until })
    expect(standbyAfter({ switched: false, keepOldMs: 60_000, now })).toBeUndefined()
  })
})

describe('keepOld 0s in the plan', () => {
  it('drains the replaced revision after the switch instead of keeping it', () => {
    const plain = planRollout({ revision: 2, replicas: 3, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, { app: 'a', currentRevision: 1, instances: serving(1, 3) })
    const plan = withBlueGreen(plain, 1, false)
    expect(plan.waves.map((w) => [w.starts.length, w.retires.map((r) => r.instance), w.switch ?? false])).toEqual([
      [3, [], true],
      [0, ['a-r1-1', 'a-r1-2', 'a-r1-3'], false],
    ])
    expect(plan.notes.at(-1)).toBe('blue/green: start 3 instances of revision 2 beside the 3 of revision 1 at weight 0 (checked, no traffic), then switch all traffic in one step; revision 1 is drained and stopped after the switch (update.blueGreen.keepOld: 0s)')
  })
  it('a repair (deploy of the serving revision) after the deadline retires the standby without a switch of nothing', () => {
    const plain = planRollout({ revision: 2, replicas: 3, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, { app: 'a', currentRevision: 2, instances: [...serving(2, 3), ...serving(1, 3)] })
    const plan = withBlueGreen(plain, 2)
    expect(plan.waves.map((w) => [w.starts.length, w.retires.map((r) => r.instance), w.switch ?? false])).toEqual([[0, ['a-r1-1', 'a-r1-2', 'a-r1-3'], false]])
    expect(plan.notes.join('\n')).not.toMatch(/blue\/green/)
    // A repair that also starts a missing instance of the serving revision: no switch either (it would put the others at 0).
    const short = planRollout({ revision: 2, replicas: 3, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, { app: 'a', currentRevision: 2, instances: serving(2, 2) })
    expect(withBlueGreen(short, 2)).toBe(short)
  })
  it('is read from the file (default 30m), and refused when not a duration', () => {
    expect(loadSpec('name: a\nimage: demo/myapp:1\nupdate:\n  strategy: blue-green\n  blueGreen: {keepOld: 0s}\n', 'a.yml').update.blueGreen).toEqual({ pause: false, keepOld: 0 })
    expect(loadSpec('name: a\nimage: demo/myapp:1\n', 'a.yml').update.blueGreen?.keepOld).toBe(30 * 60_000)
    expect(() => loadSpec('name: a\nimage: demo/myapp:1\nupdate:\n  blueGreen: {keepOld: soon}\n', 'a.yml')).toThrow(/update\.blueGreen\.keepOld/)
  })
})

describe('status: the standby and its deadline', () => {
  const instances = [2, 2, 1].map((revision, i) => ({ name: `a-r${revision}-${i + 1}`, revision, weight: revision === 1 ? 0 : 100, registered: true, state: 'running' })) as unknown as Parameters<typeof standbyOf>[0]
  it('has until and expired in --json when the record has a deadline for that revision', () => {
    expect(standbyOf(instances, 2, { revision: 1, until }, now)).toEqual({ standby: { revision: 1, instances: ['a-r1-3'], until, expired: false } })
    expect(standbyOf(instances, 2, { revision: 1, until }, new Date('2026-12-06T15:45:00Z')).standby?.expired).toBe(true)
    expect(standbyOf(instances, 2, undefined, now)).toEqual({ standby: { revision: 1, instances: ['a-r1-3'] } })
  })
  it('says until when (and in how long), or that it expired and forrest tidy retires it', () => {
    expect(describeStandbyDeadline(until, now)).toBe('until 15:42 UTC (in 9m)')
    expect(describeStandbyDeadline(until, new Date('2026-12-06T15:41:58Z'))).toBe('until 15:42 UTC (in 2s)')
    expect(describeStandbyDeadline(until, new Date('2026-12-06T17:00:00Z'))).toBe('expired at 15:42 UTC (1h18m ago)')
    expect(standbyLine('a', 2, { revision: 1, instances: ['a-r1-3'], until, expired: false }, now)).toBe('blue/green: revision 2 serves; revision 1 stands by at weight 0 (a-r1-3) until 15:42 UTC (in 9m): forrest rollback a switches back in one step')
    expect(standbyLine('a', 2, { revision: 1, instances: ['a-r1-3'], until, expired: true }, new Date('2026-12-06T15:45:00Z'))).toBe(
      'blue/green: revision 2 serves; revision 1 stands by at weight 0 (a-r1-3); its keepOld expired at 15:42 UTC (3m ago): forrest tidy a retires it (until then forrest rollback a still switches back in one step)',
    )
  })
})

describe('forrest tidy: what it says', () => {
  it('names what it retired and what it kept, and says when nothing had expired', async () => {
    const { describeTidy } = await import('../../src/verbs/tidy.js')
    expect(describeTidy({ apps: [], retired: 0 }, undefined)).toEqual(['nothing to tidy: no blue/green standby has expired; nothing was changed'])
    expect(describeTidy({ apps: [{ app: 'a', revision: 1, until, outcome: 'kept' }], retired: 0 }, 'a')).toEqual([
      `a: revision 1 stands by at weight 0 until ${until}: kept (forrest rollback a switches back in one step)`,
      'nothing to tidy: no blue/green standby of a has expired; nothing was changed',
    ])
    expect(describeTidy({ apps: [{ app: 'a', revision: 1, until, outcome: 'retired', retired: ['a-r1-1'] }], retired: 1 }, undefined)).toEqual([`a: retired revision 1 (stood by at weight 0 until ${until}): drained and stopped a-r1-1`])
  })
})
