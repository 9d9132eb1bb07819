import { describe, expect, it } from 'vitest'
import { instanceName, parseInstanceName, planRollout, type ObservedInstance, type ObservedState, type RolloutTarget } from '../../src/plan/index.js'
import { processInstanceApp } from '../../src/plan/naming.js'
import { webObserved, withWorkers, type WorkerTarget } from '../../src/plan/processes.js'

const APP = 'shop'
const web = (revision: number, ...ordinals: number[]): ObservedInstance[] =>
  ordinals.map((o) => ({ name: instanceName(APP, revision, o), containerId: `w-${revision}-${o}`, revision, running: true, registered: true, address: `10.0.0.1:${20000 + o}` }))
/** Running workers: never registered (no key), labelled with their process. */
const workers = (process: string, revision: number, ...ordinals: number[]): ObservedInstance[] =>
  ordinals.map((o) => ({ name: instanceName(`${APP}-${process}`, revision, o), containerId: `${process}-${revision}-${o}`, revision, running: true, registered: false, process }))
const target = (revision: number, replicas: number, maxSurge = 1, maxUnavailable = 0): RolloutTarget => ({ revision, replicas, maxSurge, maxUnavailable, order: 'start-first' })
const worker = (process: string, revision: number, replicas: number, maxSurge = 1, maxUnavailable = 0): WorkerTarget => ({ ...target(revision, replicas, maxSurge, maxUnavailable), process, stopGracePeriod: 120_000 })
const RETIRED = { revision: 0, maxSurge: 1, maxUnavailable: 0, order: 'start-first' as const, stopGracePeriod: 10_000 }

function plan(webTarget: RolloutTarget, targets: WorkerTarget[], observed: ObservedState) {
  const retired = { ...RETIRED, revision: webTarget.revision }
  return withWorkers(planRollout(webTarget, webObserved(observed)), targets, observed, retired)
}

describe('planning processes', () => {
  it('names a worker app-<process>-r<rev>-<n>, and web and worker names never parse as each other', () => {
    expect(instanceName(processInstanceApp(APP, 'worker'), 3, 1)).toBe('shop-worker-r3-1')
    expect(instanceName(processInstanceApp(APP, 'web'), 3, 1)).toBe('shop-r3-1')
    expect(parseInstanceName(APP, 'shop-worker-r3-1')).toBeUndefined()
    expect(parseInstanceName(`${APP}-worker`, 'shop-r3-1')).toBeUndefined()
    expect(parseInstanceName(`${APP}-worker`, 'shop-worker-r3-1')).toEqual({ revision: 3, ordinal: 1 })
  })

  it('creates web first, then each worker, worker steps marked unannounced', () => {
    const p = plan(target(1, 2), [worker('worker', 1, 3)], { app: APP, instances: [] })
    expect(p.action).toBe('create')
    expect(p.processes).toEqual({ worker: 3 })
    const steps = p.waves.flatMap((w) => w.starts)
    expect(steps.map((s) => s.instance)).toEqual(['shop-r1-1', 'shop-r1-2', 'shop-worker-r1-1', 'shop-worker-r1-2', 'shop-worker-r1-3'])
    expect(steps.filter((s) => s.process === 'worker').every((s) => s.announced === false)).toBe(true)
    expect(steps.filter((s) => s.process === undefined).every((s) => s.announced === undefined)).toBe(true)
    expect(p.notes).toContain('worker: create revision 1: start 3 instances')
  })

  it('rolls both to a new revision within each process\'s own bounds; a worker retire stops with its grace and is never withdrawn', () => {
    const observed: ObservedState = { app: APP, currentRevision: 1, instances: [...web(1, 1, 2), ...workers('worker', 1, 1, 2, 3)] }
    const p = plan(target(2, 2), [worker('worker', 2, 3, 0, 1)], observed)
    expect(p.action).toBe('update')
    const workerWaves = p.waves.filter((w) => [...w.starts, ...w.retires].some((s) => s.process === 'worker'))
    const webWaves = p.waves.filter((w) => !workerWaves.includes(w))
    // Web first: every web wave comes before any worker wave.
    expect(p.waves.indexOf(webWaves.at(-1)!)).toBeLessThan(p.waves.indexOf(workerWaves[0]!))
    // maxUnavailable 1, maxSurge 0: one worker at a time, stop-first.
    expect(workerWaves).toHaveLength(3)
    for (const w of workerWaves) {
      expect(w.order).toBe('stop-first')
      expect(w.retires).toHaveLength(1)
      expect(w.retires[0]).toMatchObject({ process: 'worker', announced: false, registered: false, stopGracePeriod: 120_000, reason: 'replace' })
      expect(w.starts).toHaveLength(1)
    }
    // Web's waves never hold a worker step and keep web's start-first bounds.
    expect(webWaves.flatMap((w) => [...w.starts, ...w.retires]).every((s) => s.process === undefined)).toBe(true)
  })

  it('scales one worker without touching web, and a stopped worker is drift to remove', () => {
    const observed: ObservedState = { app: APP, currentRevision: 4, instances: [...web(4, 1, 2), ...workers('worker', 4, 1), { ...workers('mailer', 4, 1)[0]!, running: false }] }
    const p = plan(target(4, 2), [worker('worker', 4, 3), worker('mailer', 4, 1)], observed)
    const all = p.waves.flatMap((w) => [...w.starts, ...w.retires])
    expect(all.filter((s) => s.process === undefined)).toEqual([])
    expect(all.filter((s) => s.process === 'worker' && s.kind === 'start').map((s) => s.instance)).toEqual(['shop-worker-r4-2', 'shop-worker-r4-3'])
    expect(all.find((s) => s.kind === 'retire' && s.instance === 'shop-mailer-r4-1')).toMatchObject({ reason: 'orphan' })
    expect(all.find((s) => s.kind === 'start' && s.process === 'mailer')).toMatchObject({ instance: 'shop-mailer-r4-2' })
  })

  it('is a no-op when every process runs its count of the target revision', () => {
    const observed: ObservedState = { app: APP, currentRevision: 2, instances: [...web(2, 1), ...workers('worker', 2, 1, 2)] }
    const p = plan(target(2, 1), [worker('worker', 2, 2)], observed)
    expect(p.action).toBe('noop')
    expect(p.waves).toEqual([])
    expect(p.notes).toEqual(['shop is up to date: revision 2, 1/1 serving', 'worker: up to date: revision 2, 2/2 running'])
  })

  it('retires the instances of a process no longer in the file', () => {
    const observed: ObservedState = { app: APP, currentRevision: 1, instances: [...web(1, 1), ...workers('old', 1, 1, 2)] }
    const p = plan(target(2, 1), [], observed)
    const retires = p.waves.flatMap((w) => w.retires).filter((s) => s.process === 'old')
    expect(retires.map((s) => s.instance)).toEqual(['shop-old-r1-1', 'shop-old-r1-2'])
    expect(retires.every((s) => s.announced === false && s.stopGracePeriod === 10_000)).toBe(true)
    expect(p.notes).toContain('old: no longer in the file: retire its 2 instances')
  })

  it('an app of one process plans exactly as before', () => {
    const observed: ObservedState = { app: APP, currentRevision: 1, instances: web(1, 1, 2) }
    expect(plan(target(2, 2), [], observed)).toEqual(planRollout(target(2, 2), observed))
  })

  it('the dry-run text marks each worker wave', async () => {
    const { describePlan } = await import('../../src/plan/describe.js')
    const p = plan(target(1, 1), [worker('worker', 1, 1)], { app: APP, instances: [] })
    expect(describePlan(p).filter((l) => l.startsWith('wave'))).toEqual(['wave 1: start shop-r1-1', 'wave 2 (worker, not announced): start shop-worker-r1-1'])
  })
})


describe('a deploy after forrest scale of a worker', () => {
  it('says the file\'s count replaces the scaled one', async () => {
    const { workerScaleOverrideNotes } = await import('../../src/engine/make-plan.js')
    const current = { revision: 2, replicas: 2, updatedAt: 't', by: 'a', scaled: { replicas: 2, at: 'T', by: 'ops' }, processes: { worker: 5, mailer: 1 } }
    const spec = { processes: { worker: { replicas: 2 }, mailer: { replicas: 1 } } } as never
    expect(workerScaleOverrideNotes(current, spec)).toEqual(['worker: replicas 5 (set by forrest scale at T by ops) → 2 (from the file)'])
    expect(workerScaleOverrideNotes({ ...current, scaled: undefined }, spec)).toEqual([])
  })
})
