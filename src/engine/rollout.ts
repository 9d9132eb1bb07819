import { checkPrefixAgainstRoot } from '../config.js'
import type { Context } from '../context.js'
import type { CanaryAnalysis } from '../plan/canary.js'
import { InstanceRegistry } from '../registry/instances.js'
import { checkBlueGreenCapacity } from './blue-green.js'
import { decide } from './decide.js'
import { ExecutionFailure } from './execute.js'
import { liveGateways, requireGateways, requireWeightGateways } from './gateways.js'
import { hostAvailabilities } from './host-placement.js'
import { lockApp } from './lock.js'
import { makePlan } from './make-plan.js'
import { observe } from './observe.js'
import { checkDetectedAddress, checkPrefixMove, checkSharedPrefix, settleAbandoned } from './preflight.js'
import { recover } from './recover.js'
import { release } from './release.js'
import { resultOf } from './result.js'
import { runPlan } from './run-plan.js'
import { settleNoop, settleSucceeded } from './settle.js'
import { stepDeps } from './step-deps.js'
import { revisionTemplates } from './templates.js'
import type { ReleaseReport, RolloutRequest, RolloutResult } from './types.js'

/**
 * The one path every state-changing verb takes (deploy, scale, rollback, promote, abort), as
 * phases, each a module with its input and output: lock → decide → observe → plan → release
 * (a deploy's new revision only) → execute → settle, and on a failed step recover (roll back with the same planner and executor, or stop),
 * recording the outcome in etcd either way. The verb has resolved the spec, secrets, image and
 * hosts before (verbs/*.ts, engine/secrets.ts, engine/image.ts).
 */
export async function rollout(ctx: Context, request: RolloutRequest): Promise<RolloutResult> {
  const t0 = Date.now()
  const { spec } = request
  let req = request
  const app = spec.name
  const prefix = spec.announce.prefix
  checkPrefixAgainstRoot(prefix, ctx.config.recordsRoot, 'announce.prefix')
  const identity = await ctx.identity()
  const { lock, writer, records } = await lockApp(ctx, req)
  try {
    await req.underLock?.()
    // Cordoned and draining hosts, as of now that the lock is held (a drain takes each app's lock after marking its host).
    req = { ...req, availability: await hostAvailabilities(ctx).list() }
    const decided = await decide(records, req)
    const { current, revisions, held } = decided
    const { revision, reuse, target: targetRec, current: currentRec } = decided.decision
    if (req.announceChoice) checkDetectedAddress(app, req.announceChoice, spec.announce.address, currentRec)

    const registry = new InstanceRegistry(ctx.etcd, ctx.config.etcdHosts, writer)
    const observed = await observe({ registry, records }, app, { prefix }, identity, req.hosts, new Set(req.forgetHosts))
    const gateways = await liveGateways(ctx, [prefix, ...observed.state.instances.map((i) => i.prefix ?? prefix)])
    if (req.announceChoice) await checkSharedPrefix({ records, registry }, app, prefix, req.announceChoice, currentRec)
    const deps = stepDeps(ctx, req, { records, registry, lock, identity, templates: revisionTemplates(decided.decision, req.env), gateways })

    const { plan, canarySpec, standby } = makePlan(req, decided, observed)
    const canary: { analysis?: CanaryAnalysis } = {}
    const released: { report?: ReleaseReport } = {}
    const result = resultOf({ app, revision, fromRevision: current?.revision, replicas: req.replicas, plan, changes: decided.decision.changes, t0, instances: observed.state.instances, canary: () => canary.analysis, release: () => released.report })
    if (req.dryRun) return result('dry-run')
    requireGateways(spec, prefix, gateways.get(prefix))
    if (req.kind === 'deploy') requireWeightGateways(spec, plan, prefix, gateways.get(prefix))
    await checkBlueGreenCapacity(deps, spec, plan, observed.state.instances)
    checkPrefixMove(app, prefix, observed.state.instances, (p) => gateways.get(p) ?? new Set())
    await settleAbandoned(records, app, revisions, current?.revision, req.actor)
    if (plan.action === 'noop') return await settleNoop(records, req, { current, targetRec, instances: observed.state.instances, result, standby })
    released.report = await release(records, req, { decided, identity, extraLabels: ctx.config.extraLabels, result, lost: lock?.lost })

    try {
      const report = await runPlan(ctx, req, { records, registry, identity, deps, plan, observed, revision, reuse, targetRec, current, canarySpec, held, canary, result })
      return await settleSucceeded(records, req, { registry, identity, revision, targetRec, current, report, result, standby })
    } catch (err) {
      if (!(err instanceof ExecutionFailure)) throw err
      return await recover(ctx, records, req, { deps, lock, revision, currentRec, currentReplicas: current?.replicas, currentProcesses: current?.processes, failure: err, result })
    }
  } finally {
    await lock?.release()
  }
}
