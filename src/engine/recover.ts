import createDebug from 'debug'
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import type { DeployLock } from '../registry/lock.js'
import { Records, type RevisionRecord } from '../registry/records.js'
import { resolvedSpecOf } from './app-records.js'
import { ExecutionFailure, executePlan } from './execute.js'
import { addressError, addressNotOnHost, failedHint, hasLogLines, hasRollbackTarget } from './failure-cause.js'
import { liveGateways } from './gateways.js'
import { describeLeftover } from './leftover.js'
import { observe } from './observe.js'
import { planApp, withWorkerCounts } from './process-plan.js'
import type { StepDeps } from './steps.js'
import type { ExecutionReport, RolloutRequest, RolloutResult } from './types.js'

const debug = createDebug('forrest:rollout')

/** What observe() found of an app's instances (what a failed run leaves behind). */
type ObservedInstances = Awaited<ReturnType<typeof observe>>['state']['instances']

/** Whether `forrest rollback APP` would find a revision; when the records cannot be read, assume so (the hint as before). */
async function rollbackPossible(records: Records, app: string, current: RevisionRecord | undefined): Promise<boolean> {
  if (!current) return false
  const revisions = await records.revisions(app).catch(() => undefined)
  return revisions ? hasRollbackTarget(revisions, current) : true
}

export async function recover(
  ctx: Context,
  records: Records,
  req: RolloutRequest,
  f: {
    deps: StepDeps
    lock?: DeployLock
    revision: number
    currentRec?: RevisionRecord
    currentReplicas?: number
    /** The workers' counts of the current record (forrest scale's), to roll them back to. */
    currentProcesses?: Record<string, number>
    failure: ExecutionFailure
    result: (o: RolloutResult['outcome'], r?: ExecutionReport, instances?: ObservedInstances) => RolloutResult
  },
): Promise<never> {
  const app = req.spec.name
  // A lost lock is final: another process may own the app now, so write and touch nothing.
  if (f.lock?.lost.aborted) {
    const lost = f.lock.lost.reason as ForrestError
    throw new ForrestError('LOCK_LOST', lost.message, { suggestion: lost.suggestion, detail: f.result('failed', f.failure.report) })
  }
  // A rollout to 0 that failed is not going to 0: its target no longer lets the gateways empty the prefix.
  if (req.replicas === 0) await records.clearTarget(app)
  const deadlineHit = f.deps.signal.aborted && !req.signal.aborted
  const reason = deadlineHit
    ? `progress deadline of ${req.spec.update.progressDeadline}ms passed`
    : f.failure.failures.map((e) => e.message).join('\n')
  const at = () => new Date().toISOString()
  if (req.signal.aborted) {
    if (f.revision !== f.currentRec?.revision) await records.setOutcome(app, f.revision, 'failed')
    await records.event(app, { at: at(), kind: 'interrupted', revision: f.revision, by: req.actor, message: 'interrupted; the next run picks up from here' })
    // What is there now, said plainly: the step in flight is done or undone, so this is what stays.
    const left = await observe(f.deps, app, { prefix: req.spec.announce.prefix }, f.deps.identity, req.hosts).then((o) => o.state.instances, () => undefined)
    throw new ForrestError('INTERRUPTED', `${req.kind} of ${app} interrupted; the step in flight was finished or undone${left ? `\n${describeLeftover(left, f.revision, f.currentRec?.revision)}` : ''}`, {
      suggestion: 'Run the same command again: it converges from whatever state is there.',
      detail: f.result('failed', f.failure.report, left),
    })
  }
  const canRollBack = req.spec.update.onFailure === 'rollback' && f.currentRec && f.currentRec.revision !== f.revision
  const addressFix = addressNotOnHost(f.failure.failures, ctx.config, req.spec.hosts !== undefined)
  if (!canRollBack) {
    if (f.revision !== f.currentRec?.revision) await records.setOutcome(app, f.revision, 'failed')
    await records.event(app, { at: at(), kind: `${req.kind}-failed`, revision: f.revision, by: req.actor, message: reason })
    const why = req.spec.update.onFailure === 'pause' ? 'paused (onFailure: pause)' : f.currentRec ? 'nothing to roll back' : 'no previous revision to roll back to'
    if (addressFix) throw addressError(`${req.kind} of ${app} failed, ${why}:\n${reason}`, addressFix, f.result('failed', f.failure.report))
    throw new ForrestError('ROLLOUT_FAILED', `${req.kind} of ${app} failed, ${why}:\n${reason}`, {
      suggestion: failedHint(app, f.currentRec !== undefined, reason, await rollbackPossible(records, app, f.currentRec)),
      detail: f.result('failed', f.failure.report),
    })
  }
  // Roll back with the same planner and executor: the previous revision, its replica count.
  const prev = f.currentRec!
  debug('rolling %s back to revision %d', app, prev.revision)
  const observed = await observe(f.deps, app, { prefix: prev.spec.announce.prefix! }, f.deps.identity, req.hosts)
  const replicas = f.currentReplicas ?? prev.spec.replicas
  // Every process goes back: web and the workers, at the counts the current record has.
  const plan = planApp(withWorkerCounts(resolvedSpecOf(prev), f.currentProcesses), { revision: prev.revision, templateHash: prev.templateHash, replicas, hosts: req.hosts, availability: req.availability, observed: observed.state })
  // The rollback expects the gateways live now: one that died during the failed rollout is gone.
  const gateways = await liveGateways(ctx, [prev.spec.announce.prefix!, ...observed.state.instances.map((i) => i.prefix ?? req.spec.announce.prefix)])
  const signal = f.lock ? AbortSignal.any([req.signal, f.lock.lost]) : req.signal
  try {
    await executePlan(plan, { ...f.deps, prefix: prev.spec.announce.prefix!, gateways: (p) => gateways.get(p) ?? new Set(), signal }, {
      renderer: req.renderer,
      containerIds: new Map([...observed.containers].map(([n, c]) => [n, c.info.id])),
      observed: observed.state.instances,
    })
  } catch (err) {
    if (f.lock?.lost.aborted) throw f.lock.lost.reason
    await records.setOutcome(app, f.revision, 'failed')
    await records.event(app, { at: at(), kind: 'rollback-failed', revision: f.revision, by: req.actor, message: String((err as Error).message) })
    throw new ForrestError('ROLLOUT_FAILED', `${req.kind} of ${app} failed and the rollback to revision ${prev.revision} failed too:\n${reason}\n${(err as Error).message}`, {
      suggestion: `Needs a human: \`forrest status ${app}\` shows what is serving.`,
      detail: f.result('failed', f.failure.report),
    })
  }
  await records.setOutcome(app, f.revision, 'rolled-back')
  await records.event(app, { at: at(), kind: 'rolled-back', revision: prev.revision, by: req.actor, message: reason })
  throw new ForrestError('ROLLED_BACK', `${req.kind} of ${app} to revision ${f.revision} failed; rolled back to revision ${prev.revision}, which is serving:\n${reason}`, {
    suggestion: addressFix ?? `Fix the new revision${hasLogLines(reason) ? ' (its last log lines are above)' : ''} and deploy again.`,
    detail: f.result('rolled-back', f.failure.report),
  })
}
