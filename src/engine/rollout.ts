import { checkPrefixAgainstRoot } from '../config.js'
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { instanceKey, lockKey } from '../plan/keys.js'
import { describeCanary, withCanary, type CanaryAnalysis } from '../plan/canary.js'
import { planRollout } from '../plan/plan-rollout.js'
import { gatewayCheckPrefix } from '../registry/gateway-acks.js'
import { InstanceRegistry } from '../registry/instances.js'
import { acquireLock, type DeployLock } from '../registry/lock.js'
import { Records } from '../registry/records.js'
import { resolveCanaryCount, resolveStrategy } from '../spec/strategy.js'
import { analyseCanary, canaryFailure } from './canary.js'
import { executePlan, ExecutionFailure } from './execute.js'
import type { ExecutionReport } from './types.js'
import { observe } from './observe.js'
import { decideRevision } from './revision.js'
import { resolveRecordedEnv } from './secrets.js'
import type { InstanceTemplate, StepDeps } from './steps.js'
import { heldCanaryNote, heldRevision } from './held-canary.js'
import { probeWritePermission } from '../registry/write-probe.js'
import { checkDetectedAddress, checkPrefixMove, checkSharedPrefix, settleAbandoned } from './preflight.js'
import type { RolloutRequest, RolloutResult } from './types.js'
import { resumeDecision } from './decide.js'
import { liveGateways, requireGateways } from './gateways.js'
import { scaleOverrideNote } from './make-plan.js'
import { recover } from './recover.js'
import { pruneInstanceRecords } from './settle.js'
import { hostTargets, placeable, portAllocator } from './step-deps.js'
import { memo, resolvedRecord, templateOf } from './templates.js'

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
  checkPrefixAgainstRoot(prefix, ctx.config.recordsRoot, 'announce.prefix')
  const identity = await ctx.identity()
  let lock: DeployLock | undefined
  if (!req.dryRun) {
    lock = await acquireLock(ctx.etcd, ctx.config.etcdHosts, lockKey(ctx.config.recordsRoot, app), req, { waitMs: req.waitLockMs, ttlSeconds: ctx.config.lockTtlSec })
  }
  // Every etcd write of the rollout is fenced by the lock (a dry run writes nothing).
  const writer = lock?.writer ?? ctx.writer
  const records = new Records(ctx.etcd, ctx.config.etcdHosts, ctx.config.recordsRoot, writer)
  try {
    // Every kind of key the rollout writes, before anything changes: a role that cannot write one fails now (exit 15).
    if (lock) await probeWritePermission(ctx.etcd, ctx.config.etcdHosts, [instanceKey(prefix, `${app}-r0-0`), `/${ctx.config.recordsRoot}/apps/${app}/current`, gatewayCheckPrefix(prefix, ctx.config.recordsRoot) + `${app}-r0-0`])
    const [current, revisions] = await Promise.all([records.current(app), records.revisions(app)])
    if (req.expectRevision !== undefined && current?.revision !== req.expectRevision) {
      throw new ForrestError('REVISION_CHANGED', `${app} changed while waiting: current revision is now ${current?.revision ?? 'none'}, not ${req.expectRevision}`, {
        suggestion: `Check \`forrest history ${app}\`, then run the command again.`,
      })
    }
    const decision = req.resume ? resumeDecision(app, req.resume, revisions, current?.revision) : decideRevision({ ...req, kind: req.kind === 'promote' || req.kind === 'abort' ? 'deploy' : req.kind, secretFingerprints: req.env.fingerprints }, current, revisions, new Date())
    const { revision, reuse, target: targetRec, current: currentRec } = decision
    if (req.announceChoice) checkDetectedAddress(app, req.announceChoice, spec.announce.address, currentRec)
    // The current revision's template is only needed to roll back to it; its secrets are read then.
    const templates = new Map<number, () => InstanceTemplate>([[revision, () => templateOf(targetRec, req.env)]])
    if (currentRec && currentRec.revision !== revision) templates.set(currentRec.revision, memo(() => templateOf(currentRec, resolveRecordedEnv(resolvedRecord(currentRec), process.env))))

    const registry = new InstanceRegistry(ctx.etcd, ctx.config.etcdHosts, writer)
    const observed = await observe({ registry, records }, app, { prefix }, identity, req.hosts)
    const gateways = await liveGateways(ctx, [prefix, ...observed.state.instances.map((i) => i.prefix ?? prefix)])
    if (req.announceChoice) await checkSharedPrefix({ records, registry }, app, prefix, req.announceChoice, currentRec)
    const deps: StepDeps = {
      ctx,
      records,
      registry,
      assertHeld: () => lock?.assertHeld(),
      identity,
      app,
      prefix,
      host: hostTargets(ctx, req.hosts),
      ports: portAllocator(spec.hostPorts),
      template: (r) => {
        const t = templates.get(r)
        if (!t) throw new ForrestError('INTERNAL', `no template for revision ${r}`)
        return t()
      },
      update: spec.update,
      gateways: (p) => gateways.get(p) ?? new Set(),
      ackTimeoutMs: spec.gateways.timeout,
      // The progress deadline aborts like Ctrl-C does, but is handled as a failure (rollback);
      // a lost lock aborts too, and stops everything.
      signal: AbortSignal.any([req.signal, AbortSignal.timeout(spec.update.progressDeadline), ...(lock ? [lock.lost] : [])]),
    }
    const planned = planRollout({ revision, templateHash: targetRec.templateHash, replicas: req.replicas, hosts: placeable(req.hosts, spec), ...resolveStrategy({ ...spec, replicas: req.replicas }) }, observed.state)
    // A canary guards a deploy of a new revision; scale and rollback restore something known.
    const canarySpec = req.kind === 'deploy' ? spec.update.canary : undefined
    const plan = canarySpec ? withCanary(planned, resolveCanaryCount(canarySpec.count, req.replicas)) : planned
    plan.notes.push(...observed.notes)
    plan.notes.unshift(...(req.notes ?? []))
    let canary: CanaryAnalysis | undefined
    const override = req.kind === 'deploy' ? scaleOverrideNote(current, req.replicas) : undefined
    if (override) plan.notes.unshift(override)
    const held = heldRevision(revisions, current?.revision ?? 0)
    const heldNote = held && heldCanaryNote(app, req, held.revision, revision, observed.state.instances.filter((i) => i.revision === held.revision).map((i) => i.name))
    if (heldNote) plan.notes.unshift(heldNote)
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
      ...(canary ? { canary } : {}),
    })
    if (req.dryRun) return result('dry-run')
    requireGateways(spec, prefix, gateways.get(prefix))
    checkPrefixMove(app, prefix, observed.state.instances, (p) => gateways.get(p) ?? new Set())
    await settleAbandoned(records, app, revisions, current?.revision, req.actor)
    if (plan.action === 'noop') {
      // Records converge too: a changed replica count (deploy after `forrest scale`), or a
      // revision a crash left in-progress although every instance of it serves.
      if (current && (current.replicas !== req.replicas || targetRec.outcome !== 'succeeded')) {
        await records.settle(app, { ...current, replicas: req.replicas }, targetRec)
      }
      await pruneInstanceRecords(records, app, observed.state.instances.map((i) => i.name), req.hosts)
      return result('noop')
    }

    if (!reuse) await records.putRevision(app, targetRec, current?.revision)
    if (held && req.kind !== 'promote' && req.kind !== 'abort') {
      // This deploy (scale, rollback) retires the held canary: its revision no longer waits for promote/abort.
      await records.setOutcome(app, held.revision, 'rolled-back')
      await records.event(app, { at: new Date().toISOString(), kind: 'canary-superseded', revision: held.revision, by: req.actor, message: `its canary is retired by the ${req.kind} to revision ${revision}` })
    }
    await records.event(app, { at: new Date().toISOString(), kind: `${req.kind}-started`, revision, by: req.actor, message: plan.notes.join('; ') })
    const containerIds = new Map([...observed.containers].map(([name, c]) => [name, c.info.id]))
    try {
      const canaryWave = plan.waves.find((w) => w.canary)
      const analyse = async (): Promise<{ title: string; hold: boolean }> => {
        canary = await analyseCanary(ctx, {
          prefix,
          canary: canaryWave!.starts.map((s) => s.instance),
          stable: observed.state.instances.filter((i) => i.running && i.registered && i.revision !== revision).map((i) => i.name),
          spec: canarySpec!,
          signal: deps.signal,
        })
        await records.setCanary(app, revision, canary)
        // settle() writes the in-memory record at the end: it must carry the analysis too.
        targetRec.canary = canary
        await records.event(app, { at: new Date().toISOString(), kind: `canary-${canary.verdict}`, revision, by: req.actor, message: describeCanary(canary) })
        if (canary.verdict === 'failed') throw canaryFailure(canary)
        return { title: describeCanary(canary), hold: canarySpec!.pause }
      }
      const report = await executePlan(plan, deps, { renderer: req.renderer, containerIds, ...(canaryWave && canarySpec ? { analyseCanary: analyse } : {}) })
      if (report.held) {
        // The current pointer stays on the old revision: old and canary instances both serve.
        await records.setOutcome(app, revision, 'waiting')
        await records.event(app, { at: new Date().toISOString(), kind: 'canary-waiting', revision, by: req.actor, message: 'held after the canary for forrest promote / forrest abort' })
        const after = await observe({ registry, records }, app, { prefix }, identity, req.hosts)
        throw new ForrestError('WAITING_FOR_PROMOTION', `${app} revision ${revision}: the canary passed; the rollout holds after it (update.canary.pause)`, {
          suggestion: `Continue with \`forrest promote ${app}\`, or roll the canary back with \`forrest abort ${app}\`.`,
          detail: { ...result('waiting', report, after.state.instances), next: [`forrest promote ${app}`, `forrest abort ${app}`] },
        })
      }
      const now = new Date().toISOString()
      await records.settle(app, {
        revision,
        replicas: req.replicas,
        updatedAt: now,
        by: req.actor,
        ...(req.kind === 'scale' ? { scaled: { replicas: req.replicas, at: now, by: req.actor } } : {}),
        // A rollback keeps the replica count `forrest scale` set, so a later deploy still says it overrides it.
        ...(req.kind === 'rollback' && current?.scaled ? { scaled: current.scaled } : {}),
      }, targetRec)
      await records.event(app, { at: now, kind: `${req.kind}-succeeded`, revision, by: req.actor, message: `${req.replicas} serving` })
      if (req.kind === 'abort' && req.resume) await records.setOutcome(app, req.resume.waiting, 'rolled-back')
      const after = await observe({ registry, records }, app, { prefix }, identity, req.hosts)
      await pruneInstanceRecords(records, app, after.state.instances.map((i) => i.name), req.hosts)
      return result('succeeded', report, after.state.instances)
    } catch (err) {
      if (!(err instanceof ExecutionFailure)) throw err
      return await recover(ctx, records, req, { deps, lock, revision, currentRec, currentReplicas: current?.replicas, failure: err, result })
    }
  } finally {
    await lock?.release()
  }
}

