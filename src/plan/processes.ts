/**
 * Planning an app of several processes. Pure. Each process is planned on its own with the same
 * planner and bounds (planRollout) against the observed instances of that process; web's plan
 * (and its canary) comes first, each worker's waves follow in name order, so the bounds hold per
 * process and web is on the new revision before any worker changes.
 *
 * A worker is never announced: for the planner "serving" means running (it has no key), and its
 * steps carry `announced: false`, so the executor skips publish, announce, acknowledgement and drain.
 */
import { processInstanceApp } from './naming.js'
import { planRollout } from './plan-rollout.js'
import type { ObservedInstance, ObservedState, PlanAction, PlanStep, RolloutPlan, RolloutTarget, Wave } from './types.js'

export interface WorkerTarget extends RolloutTarget {
  process: string
  /** ms between a retired instance's stop signal and SIGKILL. */
  stopGracePeriod: number
}

/** Web's instances: those without a process label (every instance of an app of one process). */
export const webObserved = (observed: ObservedState): ObservedState => ({ ...observed, instances: observed.instances.filter((i) => i.process === undefined) })

/** One worker process's instances, running counting as in service (a worker has no key to be registered by). */
function workerObserved(observed: ObservedState, process: string): ObservedState {
  const instances: ObservedInstance[] = observed.instances
    .filter((i) => i.process === process)
    .map((i) => ({ ...i, registered: i.running && i.containerId !== undefined }))
  return { app: processInstanceApp(observed.app, process), currentRevision: observed.currentRevision, instances, reserved: observed.reserved }
}

const ACTION_RANK: PlanAction[] = ['noop', 'scale', 'repair', 'create', 'update']

/**
 * Web's plan followed by every worker's. `workers` are the spec's processes; a process observed
 * but no longer in the spec is retired (target 0 with `retired`'s grace period).
 */
export function withWorkers(web: RolloutPlan, workers: WorkerTarget[], observed: ObservedState, retired: Omit<WorkerTarget, 'process' | 'replicas'>): RolloutPlan {
  const named = new Set(workers.map((w) => w.process))
  const gone = [...new Set(observed.instances.map((i) => i.process).filter((p): p is string => p !== undefined && !named.has(p)))].sort()
  const targets = [...[...workers].sort((a, b) => a.process.localeCompare(b.process)), ...gone.map((process) => ({ ...retired, process, replicas: 0 }))]
  if (targets.length === 0) return web

  const waves: Wave[] = [...web.waves]
  const notes = [...web.notes]
  const processes: Record<string, number> = {}
  let action = web.action
  for (const target of targets) {
    const { process, stopGracePeriod, ...rolloutTarget } = target
    const plan = planRollout(rolloutTarget, workerObserved(observed, process))
    if (!named.has(process)) notes.push(`${process}: no longer in the file: retire its ${plural(observed.instances.filter((i) => i.process === process).length, 'instance')}`)
    else processes[process] = target.replicas
    const tag = <S extends PlanStep>(s: S): S => ({ ...s, process, announced: false, ...(s.kind === 'retire' ? { registered: false, stopGracePeriod } : {}) })
    waves.push(...plan.waves.map((w) => ({ ...w, starts: w.starts.map(tag), retires: w.retires.map(tag) })))
    // The planner's notes name the instances' name stem (shop-worker): said as the process, and a worker runs rather than serves.
    const stem = `${processInstanceApp(observed.app, process)} `
    notes.push(...plan.notes.map((n) => `${process}: ${n.replaceAll(stem, '').replace(/^is up to date/, 'up to date').replace(/ serving\b/, ' running')}`))
    if (ACTION_RANK.indexOf(plan.action) > ACTION_RANK.indexOf(action)) action = plan.action
  }
  // A new revision is an update of the app even where a process has nothing to replace (a new worker).
  if (action === 'create' && web.action !== 'create' && web.fromRevision !== undefined) action = 'update'
  return { ...web, action, processes, waves, notes }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
