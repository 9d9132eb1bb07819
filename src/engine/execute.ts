import { Listr, PRESET_TIMESTAMP, type ListrTask } from 'listr2'
import { ForrestError } from '../errors.js'
import { planFlow, replay, segments } from '../plan/schedule.js'
import type { ObservedInstance, PlanStep, RolloutPlan, StartStep, Wave } from '../plan/types.js'
import type { RendererName } from '../report/renderer.js'
import { createAhead, createWindow, type CreateAhead } from './create-ahead.js'
import { flowGate } from './flow-gate.js'
import { adoptInstance, retireInstance, startInstance, type StepDeps, type StepOutcome } from './steps.js'
import { adoptWorker, retireWorker, startWorker } from './worker-steps.js'
import type { StepReport, ExecutionReport, StepPhase } from './types.js'

/** Thrown when a step failed: the failed step has been undone, the report says what ran. */
export class ExecutionFailure extends Error {
  constructor(
    readonly failures: ForrestError[],
    readonly report: ExecutionReport,
  ) {
    super(failures.map((f) => f.message).join('\n'))
  }
}

const title = (s: PlanStep) =>
  s.kind === 'retire' ? `retire ${s.instance} (${s.reason})` : `${s.kind} ${s.instance} (revision ${s.revision})`

/**
 * Runs a plan as a listr2 task tree: waves one after another; inside a wave, the starts run in
 * parallel, then the retires (stop-first: the other way round). A failed step undoes itself
 * (its container is removed); the rest of that wave finishes, nothing after it starts.
 */
export async function executePlan(
  plan: RolloutPlan,
  deps: StepDeps,
  opts: {
    renderer: RendererName
    containerIds: Map<string, string>
    /** Runs after the canary wave's starts (they serve): a title line, and whether to hold there (update.canary.pause); throws to fail the rollout. */
    analyseCanary?: () => Promise<{ title: string; hold: boolean }>
    /** Blue/green: runs after the switch wave's starts (serving at weight 0): the switch, or a hold before it (update.blueGreen.pause). */
    switchTraffic?: (mark: (instance: string, phase: StepPhase) => void) => Promise<{ title: string; hold: boolean }>
    /** The instances observed before the plan (the flows' counts start from them). */
    observed: ObservedInstance[]
  },
): Promise<ExecutionReport> {
  const t0 = Date.now()
  const steps: StepReport[] = []
  // One plan has at most one step per instance, so the instance name finds its step's events.
  const events = new Map<string, StepReport['events']>()
  // Containers created ahead, per flow, from when the flow begins (never while a canary is judged).
  const aheads: CreateAhead[] = []
  const stepDeps: StepDeps = {
    ...deps,
    mark: (instance, phase) => {
      events.get(instance)?.push({ phase, at: Date.now() })
      deps.mark?.(instance, phase)
    },
  }
  const failures: ForrestError[] = []
  let held = false
  const stop = () => failures.length > 0 || deps.signal.aborted || held
  // Containers of start-first waves still stopping in the background; awaited before returning.
  const stopping: Array<Promise<void>> = []
  const deferStop = (name: string) => (p: Promise<void>) =>
    stopping.push(p.catch((err) => void failures.push(new ForrestError('ROLLOUT_FAILED', `${name} could not be stopped: ${(err as Error).message}`, { cause: err }))))

  const runStep = async (s: PlanStep, order: Wave['order'], ahead?: CreateAhead): Promise<StepOutcome> => {
    // A worker process's step: nothing announced, withdrawn or drained (worker-steps.ts).
    if (s.announced === false && s.process !== undefined) {
      const w = { ...s, process: s.process }
      if (w.kind === 'start') return startWorker(stepDeps, w)
      if (w.kind === 'adopt') return adoptWorker(stepDeps, w)
      return retireWorker(stepDeps, w, opts.containerIds.get(s.instance), order === 'start-first' ? deferStop(s.instance) : undefined)
    }
    if (s.kind === 'start') return startInstance(ahead ? { ...stepDeps, ahead } : stepDeps, s)
    if (s.kind === 'adopt') return adoptInstance(stepDeps, s)
    // stop-first retires exist to free the host first: wait for those stops.
    return retireInstance(stepDeps, s, opts.containerIds.get(s.instance), order === 'start-first' ? deferStop(s.instance) : undefined)
  }

  const stepTask = (s: PlanStep, order: Wave['order'], ahead?: CreateAhead): ListrTask => ({
    title: title(s),
    task: async (_, task) => {
      const started = Date.now()
      const marks: StepReport['events'] = []
      events.set(s.instance, marks)
      try {
        const out = await runStep(s, order, ahead)
        if (out.detail) task.title = `${title(s)}: ${out.detail}`
        steps.push({ kind: s.kind, instance: s.instance, ...(s.process ? { process: s.process } : {}), revision: s.revision, ...(s.host ? { host: s.host } : {}), ok: true, ms: out.ms, detail: out.detail, at: started, events: marks })
      } catch (err) {
        const fe = err instanceof ForrestError ? err : new ForrestError('ROLLOUT_FAILED', `${s.instance}: ${(err as Error).message}`, { cause: err })
        failures.push(fe)
        steps.push({ kind: s.kind, instance: s.instance, ...(s.process ? { process: s.process } : {}), revision: s.revision, ...(s.host ? { host: s.host } : {}), ok: false, ms: Date.now() - started, detail: fe.message, at: started, events: marks })
        throw fe
      }
    },
  })

  const phase = (label: string, list: PlanStep[], order: Wave['order']): ListrTask => ({
    title: label,
    skip: () => stop() && 'an earlier step failed or was interrupted',
    task: (_, task) => runGroup(task.newListr(list.map((s) => stepTask(s, order)), { concurrent: true, exitOnError: false })),
  })

  /**
   * Runs a group of subtasks (every one runs: exitOnError false) and fails the group when any of
   * them failed, so the parent is shown failed (✖ start 1, ✖ wave 1/1), never ✔ over a failed step.
   */
  const runGroup = async (group: { run(): Promise<unknown> }): Promise<void> => {
    const before = failures.length
    await group.run()
    const failed = failures.length - before
    if (failed > 0) throw new Error(`${failed} step${failed === 1 ? '' : 's'} failed`)
  }

  const analysisTask = (analyse: () => Promise<{ title: string; hold: boolean }>, label = 'canary analysis'): ListrTask => ({
    title: label,
    skip: () => stop() && 'an earlier step failed or was interrupted',
    task: async (_, task) => {
      try {
        const out = await analyse()
        task.title = out.hold ? `${out.title}; held for forrest promote / abort` : out.title
        held = out.hold
      } catch (err) {
        const fe = err instanceof ForrestError ? err : new ForrestError('ROLLOUT_FAILED', `${label}: ${(err as Error).message}`, { cause: err })
        // An interruption in the window is the signal's to report (handled as Ctrl-C / deadline).
        if (!deps.signal.aborted) failures.push(fe)
        throw fe
      }
    },
  })

  const waveTask = (w: Wave, i: number): ListrTask => {
    const groups: Array<[string, PlanStep[]]> = [[`start ${w.starts.length}`, w.starts], [`retire ${w.retires.length}`, w.retires]]
    if (w.order === 'stop-first') groups.reverse()
    const phases = groups.filter(([, list]) => list.length > 0).map(([label, list]) => phase(label, list, w.order))
    if (w.canary && opts.analyseCanary) phases.push(analysisTask(opts.analyseCanary))
    const switchTraffic = opts.switchTraffic
    if (w.switch && switchTraffic) phases.push(analysisTask(() => switchTraffic(stepDeps.mark!), 'switch traffic'))
    return {
      title: `wave ${i + 1}/${plan.waves.length}${w.canary ? ' (canary)' : w.switch ? ' (blue/green)' : ''}`,
      skip: () => (held ? 'held for forrest promote' : stop() && 'an earlier step failed or was interrupted'),
      task: (_, task) => runGroup(task.newListr(phases, { concurrent: false, exitOnError: false })),
    }
  }

  /**
   * A run of ordinary waves as one flow (#30): every step begins as soon as the bounds allow,
   * not when the wave before ends; the drift and canary waves stay barriers.
   */
  const flowTask = (waves: number[]): ListrTask => {
    const flow = planFlow(plan.waves, waves, replay(opts.observed, plan.waves.slice(0, waves[0])))
    const range = waves.length === 1 ? `${waves[0]! + 1}` : `${waves[0]! + 1}-${waves.at(-1)! + 1}`
    return {
      title: `wave${waves.length === 1 ? '' : 's'} ${range}/${plan.waves.length}: ${flow.steps.length} step${flow.steps.length === 1 ? '' : 's'}, each as soon as the bounds allow`,
      skip: () => (held ? 'held after the canary' : stop() && 'an earlier step failed or was interrupted'),
      task: (_, task) => {
        const gate = flowGate(flow, stop, (err) => failures.push(err))
        // Web's starts only: a worker's container (no port) is made by worker-steps.ts with its own options.
        const starts = flow.steps.filter((s): s is StartStep => s.kind === 'start' && s.announced !== false)
        const ahead = createAhead(deps, starts, createWindow(waves.map((w) => plan.waves[w]!.starts.length)))
        aheads.push(ahead)
        const tasks = flow.steps.map((s, i): ListrTask => {
          const inner = stepTask(s, flow.orders[i]!, ahead)
          return {
            title: inner.title,
            task: async (ctx, t) => {
              if (!(await gate.turn(i))) return t.skip('an earlier step failed or was interrupted')
              try {
                return await (inner.task as (c: unknown, t: unknown) => Promise<void>)(ctx, t)
              } finally {
                gate.finish(i)
              }
            },
          }
        })
        return runGroup(task.newListr(tasks, { concurrent: true, exitOnError: false }))
      },
    }
  }

  const { renderer, rendererOptions } = listrRendererOptions(opts.renderer)
  const tasks = segments(plan.waves).map((seg) => (seg.kind === 'wave' ? waveTask(plan.waves[seg.wave]!, seg.wave) : flowTask(seg.waves)))
  const listr = new Listr(tasks, {
    concurrent: false,
    exitOnError: false,
    registerSignalListeners: false,
    renderer,
    rendererOptions,
  } as never)
  try {
    await listr.run()
  } finally {
    await Promise.all(stopping)
    // Created ahead, never started (a failure, an interruption, a held canary): nothing is left behind.
    for (const ahead of aheads) await ahead.dispose()
  }
  const report = { steps, ms: Date.now() - t0, ...(held ? { held } : {}) }
  if (deps.signal.aborted && !failures.length) {
    failures.push(deps.signal.reason instanceof ForrestError ? deps.signal.reason : new ForrestError('INTERRUPTED', 'interrupted'))
  }
  if (failures.length) throw new ExecutionFailure(failures, report)
  return report
}

function listrRendererOptions(name: RendererName) {
  switch (name) {
    case 'default':
      return { renderer: 'default' as const, rendererOptions: { collapseSubtasks: false, showErrorMessage: true } }
    case 'simple':
      return { renderer: 'simple' as const, rendererOptions: { timestamp: PRESET_TIMESTAMP } }
    case 'silent':
      return { renderer: 'silent' as const, rendererOptions: {} }
  }
}
