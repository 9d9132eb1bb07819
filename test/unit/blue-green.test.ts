import { describe, expect, it } from 'vitest'
import { ForrestError } from '../../src/errors.js'
import { capacityProblems, instancesPerHost, withBlueGreen } from '../../src/plan/blue-green.js'
import { instanceName, planRollout, type ObservedInstance } from '../../src/plan/index.js'
import { loadSpec, type SpecProblem } from '../../src/spec/index.js'

const serving = (revision: number, n: number, host?: string): ObservedInstance[] =>
  Array.from({ length: n }, (_, i) => ({ name: instanceName('a', revision, i + 1), containerId: `c${revision}-${i}`, revision, running: true, registered: true, address: `10.0.0.1:${30001 + i}`, ...(host ? { host } : {}) }))

describe('withBlueGreen', () => {
  it('starts the whole new revision in one wave at weight 0 with the switch after it, and keeps the serving revision', () => {
    const plain = planRollout({ revision: 2, replicas: 3, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, { app: 'a', currentRevision: 1, instances: serving(1, 3) })
    const plan = withBlueGreen(plain, 1)
    expect(plan.waves).toHaveLength(1)
    expect(plan.waves[0]).toMatchObject({ order: 'start-first', retires: [], switch: true })
    expect(plan.waves[0]!.starts.map((s) => [s.kind, s.revision, s.weight])).toEqual([['start', 2, 0], ['start', 2, 0], ['start', 2, 0]])
    expect(plan.notes.at(-1)).toBe('blue/green: start 3 instances of revision 2 beside the 3 of revision 1 at weight 0 (checked, no traffic), then switch all traffic in one step; revision 1 keeps running at weight 0 for forrest rollback (a-r1-1, a-r1-2, a-r1-3)')
  })

  it('retires an older revision (not the serving one) after the switch; leaves a create alone', () => {
    const plain = planRollout({ revision: 3, replicas: 2, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, { app: 'a', currentRevision: 2, instances: [...serving(2, 2), ...serving(1, 1)] })
    const plan = withBlueGreen(plain, 2)
    expect(plan.waves.map((w) => [w.starts.length, w.retires.map((r) => r.instance), w.switch ?? false])).toEqual([
      [2, [], true],
      [0, ['a-r1-1'], false],
    ])
    const create = planRollout({ revision: 1, replicas: 2, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, { app: 'a', instances: [] })
    expect(withBlueGreen(create, undefined)).toBe(create)
  })
})

describe('blue/green capacity: room for two revisions', () => {
  const plan = withBlueGreen(planRollout({ revision: 2, replicas: 3, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, { app: 'a', currentRevision: 1, instances: serving(1, 3) }), 1)
  const perHost = instancesPerHost(plan, serving(1, 3).map((i) => i.host))
  it('counts both colours per host', () => expect([...perHost]).toEqual([['', 6]]))
  it.each([
    [{ from: 20000, to: 29999 }, undefined, undefined, []],
    [{ from: 20000, to: 20004 }, undefined, undefined, ['the local engine would run 6 instances (both revisions) but hostPorts 20000-20004 has 5 ports: widen hostPorts']],
    [{ from: 20000, to: 29999 }, 2 ** 30, 4 * 2 ** 30, ['the local engine would run 6 instances (both revisions) with container.resources.memory 1.0 GiB each, 6.0 GiB in all, but has 4.0 GiB: lower replicas or container.resources.memory, add hosts, or use strategy rolling']],
    [{ from: 20000, to: 29999 }, 2 ** 29, 4 * 2 ** 30, []],
  ])('ports %o, memory limit %s on a host of %s', (ports, limit, mem, problems) => {
    expect(capacityProblems({ perHost, ports, ...(limit ? { memoryLimitBytes: limit } : {}), memoryOf: new Map(mem ? [['', mem]] : []) })).toEqual(problems)
  })
})

describe('update.strategy: blue-green in the file', () => {
  it('is read with its defaults, and refused beside a canary', () => {
    const spec = loadSpec('name: a\nimage: demo/myapp:1\nupdate:\n  strategy: blue-green\n', 'a.yml')
    expect(spec.update.strategy).toBe('blue-green')
    expect(spec.update.blueGreen).toEqual({ pause: false })
    expect(loadSpec('name: a\nimage: demo/myapp:1\n', 'a.yml').update.strategy).toBe('rolling')
    let problems: SpecProblem[] = []
    try {
      loadSpec('name: a\nimage: demo/myapp:1\nupdate:\n  strategy: blue-green\n  canary: {count: 1}\n', 'a.yml')
    } catch (err) {
      expect((err as ForrestError).code).toBe('INVALID_SPEC')
      problems = ((err as ForrestError).detail as { problems: SpecProblem[] }).problems
    }
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual(['update.canary: blue-green switches all traffic at once; a canary needs strategy rolling: remove update.canary or set update.strategy: rolling'])
  })
})
