import createDebug from 'debug'
import { probeHostOf } from '../config.js'
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { planRollout } from '../plan/plan-rollout.js'
import type { RolloutPlan } from '../plan/types.js'
import { acquireLock, type DeployLock } from '../registry/lock.js'
import type { CurrentRecord, Records, RevisionRecord } from '../registry/records.js'
import { recordsOf } from './app-records.js'
import { resolveStrategy } from '../spec/strategy.js'
import type { DeploymentSpec } from '../spec/types.js'
import { executePlan, ExecutionFailure, type ExecutionReport } from './execute.js'
import { observe } from './observe.js'
import type { RendererName } from './renderer.js'
import { decideRevision } from './revision.js'
import type { InstanceTemplate, StepDeps } from './steps.js'

const debug = createDebug('forrest:rollout')

/** A resolved spec: port known, announce prefix and address filled in from flags/env. */
export type ResolvedSpec = DeploymentSpec & { port: number; announce: { prefix: string; address: string } }

export interface RolloutRequest {
  kind: 'deploy' | 'scale' | 'rollback'
  spec: ResolvedSpec
  imageId: string
  replicas: number
  /** rollback: the revision whose spec and image this restores. */
  restoredFrom?: number
  /** scale/rollback: the current revision the request was computed from; checked under the lock. */
  expectRevision?: number
  dryRun?: boolean
  waitLockMs?: number
  renderer: RendererName
  signal: AbortSignal
  actor: string
  command: string
}

/** What the command layer supplies to every rollout verb. */
export type RolloutOptions = Pick<RolloutRequest, 'dryRun' | 'waitLockMs' | 'renderer' | 'signal' | 'actor' | 'command'>

export interface RolloutResult {
  app: string
  outcome: 'noop' | 'dry-run' | 'succeeded' | 'rolled-back' | 'failed'
  revision: number
  fromRevision?: number
  replicas: number
  plan: RolloutPlan
  instances: Array<{ name: string; revision?: number; address?: string; registered: boolean; running: boolean }>
  timings: { totalMs: number; steps: ExecutionReport['steps'] }
  notes: string[]
  /** What changes from the current revision (spec lines, as recorded in the revision). */
  changes: string[]
}

/** Deploy after `forrest scale`: the file's replica count wins, and the plan says so. Pure. */
export function scaleOverrideNote(current: CurrentRecord | undefined, replicas: number): string | undefined {
  if (!current?.scaled || current.replicas === replicas) return undefined
  const { at, by } = current.scaled
  return `replicas ${current.replicas} (set by forrest scale at ${at} by ${by}) → ${replicas} (from the file)`
}

export function templateOf(rec: Pick<RevisionRecord, 'revision' | 'spec' | 'imageId'>): InstanceTemplate {
  const s = rec.spec
  return { revision: rec.revision, image: rec.imageId, port: s.port!, env: s.env, command: s.command, labels: s.labels, health: s.health }
}

export const lockKey = (root: string, app: string) => `/${root}/locks/${app}`

/**
 * The one path every state-changing verb takes (deploy, scale, rollback): lock → observe →
 * plan → execute, and on a failed step either roll back to the previous revision (with the same
 * planner and executor) or stop, recording the outcome in etcd either way.
 */
export async function rollout(ctx: Context, req: RolloutRequest): Promise<RolloutResult> {
  const t0 = Date.now()
  const { spec } = req
  const app = spec.name
  const prefix = spec.announce.prefix
  const records = recordsOf(ctx)
  let lock: DeployLock | undefined
  if (!req.dryRun) {
    lock = await acquireLock(ctx.etcd, ctx.config.etcdHosts, lockKey(ctx.config.recordsRoot, app), req, { waitMs: req.waitLockMs })
  }
  try {
    const [current, revisions] = await Promise.all([records.current(app), records.revisions(app)])
    if (req.expectRevision !== undefined && current?.revision !== req.expectRevision) {
      throw new ForrestError('REVISION_CHANGED', `${app} changed while waiting: current revision is now ${current?.revision ?? 'none'}, not ${req.expectRevision}`, {
        suggestion: `Check \`forrest history ${app}\`, then run the command again.`,
      })
    }
    const decision = decideRevision(req, current, revisions, new Date())
    const { revision, reuse, target: targetRec, current: currentRec } = decision
    const templates = new Map<number, InstanceTemplate>([[revision, templateOf(targetRec)]])
    if (currentRec) templates.set(currentRec.revision, templateOf(currentRec))

    const deps: StepDeps = {
      ctx,
      records,
      app,
      prefix,
      ip: spec.announce.address,
      probeHost: probeHostOf(ctx.config),
      template: (r) => {
        const t = templates.get(r)
        if (!t) throw new ForrestError('INTERNAL', `no template for revision ${r}`)
        return t
      },
      update: spec.update,
      // The progress deadline aborts like Ctrl-C does, but is handled as a failure (rollback).
      signal: AbortSignal.any([req.signal, AbortSignal.timeout(spec.update.progressDeadline)]),
    }
    const observed = await observe(ctx, records, app, prefix, deps.ip)
    const plan = planRollout({ revision, replicas: req.replicas, ...resolveStrategy({ ...spec, replicas: req.replicas }) }, observed.state)
    const override = req.kind === 'deploy' ? scaleOverrideNote(current, req.replicas) : undefined
    if (override) plan.notes.unshift(override)
    const result = (outcome: RolloutResult['outcome'], report?: ExecutionReport, instances = observed.state.instances): RolloutResult => ({
      app,
      outcome,
      revision,
      fromRevision: current?.revision,
      replicas: req.replicas,
      plan,
      instances: instances.map(({ name, revision: r, address, registered, running }) => ({ name, revision: r, address, registered, running })),
      timings: { totalMs: Date.now() - t0, steps: report?.steps ?? [] },
      notes: plan.notes,
      changes: decision.changes,
    })
    if (req.dryRun) return result('dry-run')
    if (plan.action === 'noop') {
      // Still record a changed replica count (e.g. deploy of a file after `forrest scale`).
      if (current && current.replicas !== req.replicas) await records.setCurrent(app, { ...current, replicas: req.replicas })
      return result('noop')
    }

    if (!reuse) await records.putRevision(app, targetRec, current?.revision)
    await records.event(app, { at: new Date().toISOString(), kind: `${req.kind}-started`, revision, by: req.actor, message: plan.notes.join('; ') })
    const containerIds = new Map([...observed.containers].map(([name, c]) => [name, c.id]))
    try {
      const report = await executePlan(plan, deps, { renderer: req.renderer, containerIds })
      const now = new Date().toISOString()
      await records.setCurrent(app, {
        revision,
        replicas: req.replicas,
        updatedAt: now,
        by: req.actor,
        ...(req.kind === 'scale' ? { scaled: { replicas: req.replicas, at: now, by: req.actor } } : {}),
        // A rollback keeps the replica count `forrest scale` set, so a later deploy still says it overrides it.
        ...(req.kind === 'rollback' && current?.scaled ? { scaled: current.scaled } : {}),
      })
      if (!reuse || targetRec.outcome !== 'succeeded') await records.setOutcome(app, revision, 'succeeded')
      await records.event(app, { at: now, kind: `${req.kind}-succeeded`, revision, by: req.actor, message: `${req.replicas} serving` })
      const after = await observe(ctx, records, app, prefix, deps.ip)
      return result('succeeded', report, after.state.instances)
    } catch (err) {
      if (!(err instanceof ExecutionFailure)) throw err
      return await handleFailure(ctx, records, req, { deps, revision, currentRec, currentReplicas: current?.replicas, failure: err, result })
    }
  } finally {
    await lock?.release()
  }
}

async function handleFailure(
  ctx: Context,
  records: Records,
  req: RolloutRequest,
  f: {
    deps: StepDeps
    revision: number
    currentRec?: RevisionRecord
    currentReplicas?: number
    failure: ExecutionFailure
    result: (o: RolloutResult['outcome'], r?: ExecutionReport) => RolloutResult
  },
): Promise<never> {
  const app = req.spec.name
  const deadlineHit = f.deps.signal.aborted && !req.signal.aborted
  const reason = deadlineHit
    ? `progress deadline of ${req.spec.update.progressDeadline}ms passed`
    : f.failure.failures.map((e) => e.message).join('\n')
  const at = () => new Date().toISOString()
  if (req.signal.aborted) {
    if (f.revision !== f.currentRec?.revision) await records.setOutcome(app, f.revision, 'failed')
    await records.event(app, { at: at(), kind: 'interrupted', revision: f.revision, by: req.actor, message: 'interrupted; the next run picks up from here' })
    throw new ForrestError('INTERRUPTED', `${req.kind} of ${app} interrupted; the step in flight was finished or undone`, {
      suggestion: 'Run the same command again: it converges from whatever state is there.',
      detail: f.result('failed', f.failure.report),
    })
  }
  const canRollBack = req.spec.update.onFailure === 'rollback' && f.currentRec && f.currentRec.revision !== f.revision
  if (!canRollBack) {
    if (f.revision !== f.currentRec?.revision) await records.setOutcome(app, f.revision, 'failed')
    await records.event(app, { at: at(), kind: `${req.kind}-failed`, revision: f.revision, by: req.actor, message: reason })
    const why = req.spec.update.onFailure === 'pause' ? 'paused (onFailure: pause)' : f.currentRec ? 'nothing to roll back' : 'no previous revision to roll back to'
    throw new ForrestError('ROLLOUT_FAILED', `${req.kind} of ${app} failed, ${why}:\n${reason}`, {
      suggestion: 'Fix the cause, then deploy again or run `forrest rollback ' + app + '`; `forrest status ' + app + '` shows what is running.',
      detail: f.result('failed', f.failure.report),
    })
  }
  // Roll back with the same planner and executor: the previous revision, its replica count.
  const prev = f.currentRec!
  debug('rolling %s back to revision %d', app, prev.revision)
  const observed = await observe(ctx, records, app, req.spec.announce.prefix, f.deps.ip)
  const replicas = f.currentReplicas ?? prev.spec.replicas
  const plan = planRollout({ revision: prev.revision, replicas, ...resolveStrategy({ ...prev.spec, replicas }) }, observed.state)
  try {
    await executePlan(plan, { ...f.deps, signal: req.signal }, { renderer: req.renderer, containerIds: new Map([...observed.containers].map(([n, c]) => [n, c.id])) })
  } catch (err) {
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
    suggestion: 'Fix the new revision (its last log lines are above) and deploy again.',
    detail: f.result('rolled-back', f.failure.report),
  })
}
