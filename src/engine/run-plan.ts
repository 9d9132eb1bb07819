import type { Context, Identity } from '../context.js'
import { ForrestError } from '../errors.js'
import { describeCanary, type CanaryAnalysis } from '../plan/canary.js'
import type { RolloutPlan } from '../plan/types.js'
import type { InstanceRegistry } from '../registry/instances.js'
import type { CurrentRecord, Records, RevisionRecord } from '../registry/records.js'
import type { CanarySpec } from '../spec/types.js'
import { canaryShares } from '../plan/weights.js'
import { analyseCanary, canaryFailure } from './canary.js'
import { analyseWeightedCanary } from './weighted-canary.js'
import { switchToStandby, switchTraffic } from './blue-green.js'
import { executePlan } from './execute.js'
import { observe, type Observation } from './observe.js'
import type { ResultOf } from './result.js'
import type { StepDeps } from './steps.js'
import type { ExecutionReport, RolloutRequest } from './types.js'

/**
 * Execute: record the revision and the start, then run the plan's waves (judging the canary
 * wave, if any, on the gateways' counters). Throws ExecutionFailure when a step failed (the
 * caller recovers), WAITING_FOR_PROMOTION when a passing canary holds the rollout.
 */
export async function runPlan(
  ctx: Context,
  req: RolloutRequest,
  x: {
    records: Records
    registry: InstanceRegistry
    identity: Identity
    deps: StepDeps
    plan: RolloutPlan
    observed: Observation
    revision: number
    reuse: boolean
    targetRec: RevisionRecord
    current?: CurrentRecord
    canarySpec?: CanarySpec
    /** A revision held after its canary: this rollout (unless promote/abort) retires it. */
    held?: RevisionRecord
    /** Where the canary analysis is kept for the result. */
    canary: { analysis?: CanaryAnalysis }
    result: ResultOf
  },
): Promise<ExecutionReport> {
  const { records, plan, revision, observed, canarySpec } = x
  const app = req.spec.name
  const prefix = req.spec.announce.prefix
  if (!x.reuse) await records.putRevision(app, x.targetRec, x.current?.revision)
  if (x.held && req.kind !== 'promote' && req.kind !== 'abort') {
    // This deploy (scale, rollback) retires the held canary: its revision no longer waits for promote/abort.
    await records.setOutcome(app, x.held.revision, 'rolled-back')
    await records.event(app, { at: new Date().toISOString(), kind: 'canary-superseded', revision: x.held.revision, by: req.actor, message: `its canary is retired by the ${req.kind} to revision ${revision}` })
  }
  await records.event(app, { at: new Date().toISOString(), kind: `${req.kind}-started`, revision, by: req.actor, message: plan.notes.join('; ') })
  // Going to 0 instances: the target is recorded before the first withdrawal, so the gateways'
  // empty-view guard lets the prefix go empty (settle replaces it; recover clears it).
  if (req.replicas === 0) await records.setTarget(app, { replicas: 0, revision, at: new Date().toISOString(), by: req.actor })
  const containerIds = new Map([...observed.containers].map(([name, c]) => [name, c.info.id]))
  // A rollback or promote onto a colour blue/green keeps at weight 0: all traffic to it first, in one step.
  if (req.kind === 'rollback' || req.kind === 'promote') {
    const switched = await switchToStandby(x.deps, prefix, revision, observed.state.instances)
    if (switched) await records.event(app, { at: new Date().toISOString(), kind: 'traffic-switched', revision, by: req.actor, message: switched })
  }
  const switchWave = plan.waves.find((w) => w.switch)
  const switchNow = async (mark: (instance: string, phase: 'switched') => void): Promise<{ title: string; hold: boolean }> => {
    if (req.spec.update.blueGreen?.pause) return { title: `revision ${revision} serves at weight 0 beside revision ${x.current?.revision ?? '?'}`, hold: true }
    const serving = observed.state.instances.filter((i) => i.registered && i.running && i.revision !== revision && (i.prefix ?? prefix) === prefix).map((i) => i.name)
    const message = await switchTraffic(x.deps, prefix, switchWave!.starts.map((s) => s.instance), serving)
    for (const s of switchWave!.starts) mark(s.instance, 'switched')
    await records.event(app, { at: new Date().toISOString(), kind: 'traffic-switched', revision, by: req.actor, message })
    return { title: message, hold: false }
  }
  const canaryWave = plan.waves.find((w) => w.canary)
  const analyse = async (): Promise<{ title: string; hold: boolean }> => {
    const run = {
      prefix,
      canary: canaryWave!.starts.map((s) => s.instance),
      stable: observed.state.instances.filter((i) => i.running && i.registered && i.revision !== revision).map((i) => i.name),
      spec: canarySpec!,
      signal: x.deps.signal,
    }
    const shares = canaryShares(canarySpec)
    const stepEvent = (a: CanaryAnalysis) => records.event(app, { at: new Date().toISOString(), kind: `canary-step-${a.verdict}`, revision, by: req.actor, message: describeCanary(a) })
    const canary = shares ? await analyseWeightedCanary(ctx, x.deps, { ...run, shares }, stepEvent) : await analyseCanary(ctx, run)
    x.canary.analysis = canary
    await records.setCanary(app, revision, canary)
    // settle() writes the in-memory record at the end: it must carry the analysis too.
    x.targetRec.canary = canary
    await records.event(app, { at: new Date().toISOString(), kind: `canary-${canary.verdict}`, revision, by: req.actor, message: describeCanary(canary) })
    if (canary.verdict === 'failed') throw canaryFailure(canary)
    return { title: describeCanary(canary), hold: canarySpec!.pause }
  }
  const report = await executePlan(plan, x.deps, { renderer: req.renderer, containerIds, observed: observed.state.instances, ...(canaryWave && canarySpec ? { analyseCanary: analyse } : {}), ...(switchWave ? { switchTraffic: switchNow } : {}) })
  if (report.held) {
    // The current pointer stays on the old revision: old and canary instances both serve.
    await records.setOutcome(app, revision, 'waiting')
    await records.event(app, { at: new Date().toISOString(), kind: 'canary-waiting', revision, by: req.actor, message: switchWave ? 'held before the blue/green switch for forrest promote / forrest abort' : 'held after the canary for forrest promote / forrest abort' })
    const after = await observe({ registry: x.registry, records }, app, { prefix }, x.identity, req.hosts)
    const why = switchWave ? 'the whole revision serves at weight 0 beside the old one; the rollout holds before the switch (update.blueGreen.pause)' : 'the canary passed; the rollout holds after it (update.canary.pause)'
    throw new ForrestError('WAITING_FOR_PROMOTION', `${app} revision ${revision}: ${why}`, {
      suggestion: `Continue with \`forrest promote ${app}\`, or roll the canary back with \`forrest abort ${app}\`.`,
      detail: { ...x.result('waiting', report, after.state.instances), next: [`forrest promote ${app}`, `forrest abort ${app}`] },
    })
  }
  return report
}
