/**
 * Cordon and drain in the planner (issue #27), pure: a cordoned host keeps what runs there and
 * gets nothing new; a draining host (left out of the target's hosts) has its instances moved
 * within the bounds, started elsewhere before they are retired (reason rebalance); nowhere to go
 * is refused before anything changes (NO_ROOM, exit 22).
 */
import { describe, expect, it } from 'vitest'
import { placementOf } from '../../src/engine/host-placement.js'
import type { ResolvedSpec } from '../../src/engine/types.js'
import { EXIT, ForrestError } from '../../src/errors.js'
import type { HostState } from '../../src/hosts/fleet.js'
import { desiredAvoiding } from '../../src/plan/cordon.js'
import { instanceName, planRollout, simulatePlan, type ObservedInstance, type ObservedState, type RolloutTarget } from '../../src/plan/index.js'
import type { HostAvailabilityRecord } from '../../src/registry/host-availability.js'

const APP = 'web'
const on = (host: string, revision: number, ...ordinals: number[]): ObservedInstance[] =>
  ordinals.map((o) => ({ name: instanceName(APP, revision, o), containerId: `c-${revision}-${o}`, revision, running: true, registered: true, address: `10.0.0.1:${30000 + o}`, host }))
const observed = (instances: ObservedInstance[], currentRevision = 1): ObservedState => ({ app: APP, currentRevision, instances })
const target = (revision: number, replicas: number, hosts: string[], cordoned: string[] = []): RolloutTarget => ({ revision, replicas, maxSurge: 1, maxUnavailable: 0, order: 'start-first', hosts, cordoned })

function planAndCheck(t: RolloutTarget, o: ObservedState) {
  const plan = planRollout(t, o)
  const sim = simulatePlan(plan, o, t)
  expect(sim.violations).toEqual([])
  // Where the instances are afterwards: the ones kept, and every one started (the simulation tracks no hosts).
  const retired = new Set(plan.waves.flatMap((w) => w.retires.map((r) => r.instance)))
  const after = [...o.instances.filter((i) => !retired.has(i.name)), ...plan.waves.flatMap((w) => w.starts.map((s) => ({ name: s.instance, host: s.host }) as ObservedInstance))]
  expect(after).toHaveLength(sim.instances.length)
  return { plan, after }
}
const hostsOf = (xs: ObservedInstance[]) => xs.map((i) => i.host).sort()

describe('desired counts with cordoned hosts', () => {
  it('a cordoned host keeps what runs there (up to its share); the rest go to the open hosts', () => {
    expect([...desiredAvoiding(4, ['h1', 'h2'], new Set(['h1']), new Map([['h1', 2], ['h2', 2]])).desired]).toEqual([['h1', 2], ['h2', 2]])
    expect([...desiredAvoiding(4, ['h1', 'h2'], new Set(['h1']), new Map([['h1', 1]])).desired]).toEqual([['h1', 1], ['h2', 3]])
    expect([...desiredAvoiding(4, ['h1', 'h2'], new Set(['h1']), new Map()).desired]).toEqual([['h1', 0], ['h2', 4]])
    expect([...desiredAvoiding(6, ['h1', 'h2', 'h3'], new Set(['h1']), new Map([['h1', 5]])).desired]).toEqual([['h1', 2], ['h2', 2], ['h3', 2]])
  })

  it('says how many replicas have nowhere to go when every host is cordoned', () => {
    expect(desiredAvoiding(3, ['h1'], new Set(['h1']), new Map([['h1', 1]])).short).toBe(2)
    expect(desiredAvoiding(1, ['h1'], new Set(['h1']), new Map([['h1', 1]])).short).toBe(0)
  })
})

describe('planning with a cordoned host', () => {
  it('a new revision places nothing on the cordoned host and retires its old instances within the bounds', () => {
    const o = observed([...on('h1', 1, 1, 2), ...on('h2', 1, 3, 4)])
    const { plan, after } = planAndCheck(target(2, 4, ['h1', 'h2'], ['h1']), o)
    const starts = plan.waves.flatMap((w) => w.starts)
    expect(starts.map((s) => s.host)).toEqual(['h2', 'h2', 'h2', 'h2'])
    expect(hostsOf(after)).toEqual(['h2', 'h2', 'h2', 'h2'])
  })

  it('leaves the target revision running on the cordoned host alone (a cordon is not a drain)', () => {
    const o = observed([...on('h1', 1, 1, 2), ...on('h2', 1, 3, 4)])
    expect(planRollout(target(1, 4, ['h1', 'h2'], ['h1']), o).action).toBe('noop')
  })

  it('scaling up puts every new instance on the open hosts', () => {
    const o = observed([...on('h1', 1, 1), ...on('h2', 1, 2)])
    const { plan } = planAndCheck(target(1, 4, ['h1', 'h2'], ['h1']), o)
    expect(plan.waves.flatMap((w) => w.starts).map((s) => s.host)).toEqual(['h2', 'h2'])
  })

  it('refuses before any step when nothing may take the replicas (NO_ROOM, exit 22)', () => {
    const o = observed(on('h1', 1, 1))
    const err = (() => {
      try {
        planRollout(target(1, 3, ['h1'], ['h1']), o)
      } catch (e) {
        return e as ForrestError
      }
    })()
    expect(err).toBeInstanceOf(ForrestError)
    expect(err!.code).toBe('NO_ROOM')
    expect(err!.exit).toBe(EXIT.noRoom)
    expect(err!.exit).toBe(22)
    expect(err!.message).toMatch(/no host may take a new instance of web: 2 of its 3 replicas have nowhere to go/)
  })
})

describe('the drain plan (the draining host left out of the target)', () => {
  it('moves every instance off h1: started on h2 first, then h1\'s retired as rebalance, never below the replicas', () => {
    const o = observed([...on('h1', 1, 1, 2), ...on('h2', 1, 3, 4)])
    const { plan, after } = planAndCheck(target(1, 4, ['h2']), o)
    expect(hostsOf(after)).toEqual(['h2', 'h2', 'h2', 'h2'])
    for (const w of plan.waves) {
      expect(w.order).toBe('start-first')
      for (const s of w.starts) expect(s.host).toBe('h2')
      for (const r of w.retires) expect(r).toMatchObject({ host: 'h1', reason: 'rebalance' })
    }
    expect(plan.waves.flatMap((w) => w.retires).map((r) => r.instance).sort()).toEqual([instanceName(APP, 1, 1), instanceName(APP, 1, 2)])
    // Nothing on h2 is touched.
    expect(plan.waves.flatMap((w) => w.retires).some((r) => r.host === 'h2')).toBe(false)
  })

  it('a drain with nowhere to go is refused before any step', () => {
    expect(() => planRollout(target(1, 2, []), observed(on('h1', 1, 1, 2)))).toThrow(/no host may take a new instance of web/)
  })
})

describe('which hosts a rollout may place on', () => {
  const host = (name: string, engine: string | null = `e-${name}`): HostState => ({ host: { name, address: '10.0.0.1', labels: {}, endpoint: 'unix:///x', runtime: {} as HostState['host']['runtime'] }, ...(engine ? { engine } : {}) })
  const spec = (names: string[]) => ({ name: APP, hosts: names.map((n) => ({ name: n, docker: 'unix:///x', address: '10.0.0.1', labels: {} })) }) as unknown as ResolvedSpec
  const rec = (availability: HostAvailabilityRecord['availability']): HostAvailabilityRecord => ({ availability, at: 'now', by: 'me' })

  it('leaves out draining, drained, unreachable and departed hosts, and names the cordoned ones', () => {
    const p = placementOf([host('h1'), host('h2'), host('h3'), host('h4'), host('h5', null), host('gone')], spec(['h1', 'h2', 'h3', 'h4', 'h5']), new Map([['h1', rec('cordoned')], ['h2', rec('draining')], ['h3', rec('drained')]]))
    expect(p.hosts).toEqual(['h1', 'h4'])
    expect(p.cordoned).toEqual(['h1'])
    expect(p.notes).toEqual([
      'host h1 is cordoned: no new instance of web goes there',
      'host h2 is draining (forrest host drain): web\'s instances there move to the other hosts',
      'host h3 is drained (forrest host drain): web\'s instances there move to the other hosts',
      "host gone is no longer in web's hosts: its instances move to the others",
    ])
  })
})
