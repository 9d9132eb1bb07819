import createDebug from 'debug'
import { bindIpFor, checkPrefixAgainstRoot, probeHostOf } from '../config.js'
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { instanceKey, lockKey } from '../plan/keys.js'
import { describeCanary, withCanary, type CanaryAnalysis } from '../plan/canary.js'
import { planRollout } from '../plan/plan-rollout.js'
import { gatewayCheckPrefix, readGatewayAcks } from '../registry/gateway-acks.js'
import { InstanceRegistry } from '../registry/instances.js'
import { acquireLock, type DeployLock } from '../registry/lock.js'
import { Records, type CurrentRecord, type RevisionRecord } from '../registry/records.js'
import { parseImageReference, pinnedReference } from '../spec/image-reference.js'
import { resolveCanaryCount, resolveStrategy } from '../spec/strategy.js'
import { analyseCanary, canaryFailure } from './canary.js'
import { executePlan, ExecutionFailure } from './execute.js'
import type { ExecutionReport } from './types.js'
import { addressError, addressNotOnHost, failedHint, hasLogLines } from './failure-cause.js'
import { describeLeftover } from './leftover.js'
import { observe } from './observe.js'
import { decideRevision, type RevisionDecision } from './revision.js'
import { resolvedSpecOf } from './app-records.js'
import { resolveRecordedEnv, type ResolvedEnv } from './secrets.js'
import type { HostTarget, InstanceTemplate, StepDeps } from './steps.js'
import { eligible, type HostState } from '../hosts/fleet.js'
import { heldCanaryNote, heldRevision } from './held-canary.js'
import { probeWritePermission } from '../registry/write-probe.js'
import { checkDetectedAddress, checkPrefixMove, checkSharedPrefix, settleAbandoned } from './preflight.js'
import type { ResolvedSpec, RolloutRequest, RolloutResult } from './types.js'

type ObservedInstances = Awaited<ReturnType<typeof observe>>['state']['instances']

const debug = createDebug('forrest:rollout')

/** Deploy after `forrest scale`: the file's replica count wins, and the plan says so. Pure. */
export function scaleOverrideNote(current: CurrentRecord | undefined, replicas: number): string | undefined {
  if (!current?.scaled || current.replicas === replicas) return undefined
  const { at, by } = current.scaled
  return `replicas ${current.replicas} (set by forrest scale at ${at} by ${by}) → ${replicas} (from the file)`
}

export function templateOf(rec: Pick<RevisionRecord, 'revision' | 'spec' | 'imageId' | 'digest' | 'templateHash'>, env: ResolvedEnv): InstanceTemplate {
  const s = rec.spec
  return { revision: rec.revision, image: revisionImage(rec), templateHash: rec.templateHash, port: s.port!, env: env.values, command: s.command, labels: s.labels, health: s.health }
}

/** What a revision's instances run: `name@digest` when its image came from a registry, else the image ID. */
export function revisionImage(rec: Pick<RevisionRecord, 'spec' | 'imageId' | 'digest'>): string {
  const ref = rec.digest ? parseImageReference(rec.spec.image) : undefined
  return ref && rec.digest ? pinnedReference(ref, rec.digest) : rec.imageId
}

/** Kept here too: callers have imported it from this module. */
export { lockKey }

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
      return await handleFailure(ctx, records, req, { deps, lock, revision, currentRec, currentReplicas: current?.replicas, failure: err, result })
    }
  } finally {
    await lock?.release()
  }
}

/** promote/abort: the existing revision to converge to, if its held rollout is still waiting. */
function resumeDecision(app: string, resume: { revision: number; waiting: number }, revisions: RevisionRecord[], current?: number): RevisionDecision {
  const target = revisions.find((r) => r.revision === resume.revision)
  const waiting = revisions.find((r) => r.revision === resume.waiting)
  if (!target || waiting?.outcome !== 'waiting') {
    throw new ForrestError('REVISION_CHANGED', `${app} revision ${resume.waiting} is no longer waiting for promotion (${waiting?.outcome ?? 'no record'})`, {
      suggestion: `Check \`forrest history ${app}\`.`,
    })
  }
  const currentRec = revisions.find((r) => r.revision === current)
  return { revision: target.revision, reuse: true, target, current: currentRec, changes: target.revision === current ? [`abort revision ${resume.waiting}`] : target.changes }
}

const memo = <T>(fn: () => T): (() => T) => {
  let value: { v: T } | undefined
  return () => (value ??= { v: fn() }).v
}

/** A recorded revision with its spec resolved (older records lack newer fields). */
const resolvedRecord = (rec: RevisionRecord): RevisionRecord => ({ ...rec, spec: resolvedSpecOf(rec) })

/** The gateways live now for each prefix: a rollout expects every one of them to acknowledge. */
async function liveGateways(ctx: Context, prefixes: string[]): Promise<Map<string, Set<string>>> {
  const unique = [...new Set(prefixes)]
  const acks = await Promise.all(unique.map((p) => readGatewayAcks(ctx.etcd, p, ctx.config.recordsRoot)))
  return new Map(unique.map((p, i) => [p, new Set(acks[i]!.acks.keys())]))
}

function requireGateways(spec: ResolvedSpec, prefix: string, live: ReadonlySet<string> = new Set()): void {
  if (live.size >= spec.gateways.required) return
  const which = live.size ? `only ${live.size} (${[...live].sort().join(', ')})` : 'none'
  throw new ForrestError('GATEWAYS_MISSING', `${spec.name} needs ${spec.gateways.required} live gateway${spec.gateways.required === 1 ? '' : 's'} for /${prefix}/, ${which} answering; nothing was changed`, {
    suggestion: 'Start `forrest gateway` for this prefix on every load balancer (or lower gateways.required), then deploy again.',
  })
}

/** The reachable hosts as step targets: each with its engine, and the addresses its instances use. */
function hostTargets(ctx: Context, hosts: HostState[]): (name?: string) => HostTarget {
  const targets = new Map<string, HostTarget>()
  for (const { host, engine } of hosts) {
    if (engine === undefined) continue
    const bindIp = bindIpFor(ctx.config, host.address)
    targets.set(host.name, { name: host.name, runtime: host.runtime, engine, address: host.address, bindIp, probeHost: probeHostOf(bindIp, host.address) })
  }
  return (name) => {
    const t = name === undefined ? targets.values().next().value : targets.get(name)
    if (!t) throw new ForrestError('DOCKER_UNREACHABLE', `host ${name ?? '(none)'} is not reachable`)
    return t
  }
}

/**
 * Fixed host ports, per host: the lowest port of the range that no container on that engine
 * publishes and this rollout has not handed out. A port something outside Docker holds shows
 * up as Docker's bind error, and the step asks again (taken).
 */
export function portAllocator(range: { from: number; to: number }): StepDeps['ports'] {
  const used = new Map<string, Promise<Set<number>>>()
  const usedOn = (host: HostTarget) => {
    let u = used.get(host.name)
    if (!u) used.set(host.name, (u = host.runtime.publishedPorts()))
    return u
  }
  return {
    async allocate(host) {
      const u = await usedOn(host)
      for (let p = range.from; p <= range.to; p++) {
        if (u.has(p)) continue
        u.add(p)
        return p
      }
      throw new ForrestError('ROLLOUT_FAILED', `no free host port left in ${range.from}-${range.to} on ${host.name}`, { suggestion: 'Widen hostPorts in the deployment file.' })
    },
    taken(host, port) {
      void usedOn(host).then((u) => u.add(port))
    },
  }
}

/** Reachable hosts that match the placement, in inventory order: where new instances may go. */
const placeable = (hosts: HostState[], spec: ResolvedSpec) =>
  eligible(
    hosts.filter((h) => h.engine !== undefined).map((h) => h.host),
    spec,
  ).map((h) => h.name)

/** Instance records of instances that are gone (no key, no container on a host we can see) are dropped. */
async function pruneInstanceRecords(records: Records, app: string, present: string[], hosts: HostState[]): Promise<void> {
  const keep = new Set(present)
  const seen = new Set(hosts.map((h) => h.engine).filter(Boolean))
  const stale = [...(await records.instances(app)).values()].filter((r) => !keep.has(r.name) && r.engine !== undefined && seen.has(r.engine))
  if (stale.length) await records.deleteInstances(app, stale.map((r) => r.name))
}

async function handleFailure(
  ctx: Context,
  records: Records,
  req: RolloutRequest,
  f: {
    deps: StepDeps
    lock?: DeployLock
    revision: number
    currentRec?: RevisionRecord
    currentReplicas?: number
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
      suggestion: failedHint(app, f.currentRec !== undefined, reason),
      detail: f.result('failed', f.failure.report),
    })
  }
  // Roll back with the same planner and executor: the previous revision, its replica count.
  const prev = f.currentRec!
  debug('rolling %s back to revision %d', app, prev.revision)
  const observed = await observe(f.deps, app, { prefix: prev.spec.announce.prefix! }, f.deps.identity, req.hosts)
  const replicas = f.currentReplicas ?? prev.spec.replicas
  const plan = planRollout({ revision: prev.revision, templateHash: prev.templateHash, replicas, hosts: placeable(req.hosts, resolvedSpecOf(prev)), ...resolveStrategy({ ...prev.spec, replicas }) }, observed.state)
  // The rollback expects the gateways live now: one that died during the failed rollout is gone.
  const gateways = await liveGateways(ctx, [prev.spec.announce.prefix!, ...observed.state.instances.map((i) => i.prefix ?? req.spec.announce.prefix)])
  const signal = f.lock ? AbortSignal.any([req.signal, f.lock.lost]) : req.signal
  try {
    await executePlan(plan, { ...f.deps, prefix: prev.spec.announce.prefix!, gateways: (p) => gateways.get(p) ?? new Set(), signal }, {
      renderer: req.renderer,
      containerIds: new Map([...observed.containers].map(([n, c]) => [n, c.info.id])),
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

