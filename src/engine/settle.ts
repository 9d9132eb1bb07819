import { recordPlacement } from './recorded-hosts.js'
import type { HostState } from '../hosts/fleet.js'
import { Records } from '../registry/records.js'
import type { Identity } from '../context.js'
import type { ObservedInstance } from '../plan/types.js'
import type { InstanceRegistry } from '../registry/instances.js'
import type { CurrentRecord, RevisionRecord } from '../registry/records.js'
import { observe } from './observe.js'
import { workerCounts } from './process-plan.js'
import type { ResultOf } from './result.js'
import type { ExecutionReport, RolloutRequest, RolloutResult } from './types.js'

/** Instance records of instances that are gone (no key, no container on a host we can see) are dropped. */
export async function pruneInstanceRecords(records: Records, app: string, present: string[], hosts: HostState[]): Promise<void> {
  const keep = new Set(present)
  const seen = new Set(hosts.map((h) => h.engine).filter(Boolean))
  const stale = [...(await records.instances(app)).values()].filter((r) => !keep.has(r.name) && r.engine !== undefined && seen.has(r.engine))
  if (stale.length) await records.deleteInstances(app, stale.map((r) => r.name))
}

/** Settle after a run: the current pointer, the outcome, the events; instance records of gone instances dropped. */
export async function settleSucceeded(
  records: Records,
  req: RolloutRequest,
  x: { registry: InstanceRegistry; identity: Identity; revision: number; targetRec: RevisionRecord; current?: CurrentRecord; report: ExecutionReport; result: ResultOf },
): Promise<RolloutResult> {
  const app = req.spec.name
  const { revision, current } = x
  const now = new Date().toISOString()
  const processes = workerCounts(req.spec)
  await records.settle(app, {
    revision,
    replicas: req.replicas,
    ...(processes ? { processes } : {}),
    updatedAt: now,
    by: req.actor,
    ...(req.kind === 'scale' ? { scaled: { replicas: req.replicas, at: now, by: req.actor } } : {}),
    // A rollback (or a drain) keeps the replica count `forrest scale` set, so a later deploy still says it overrides it.
    ...((req.kind === 'rollback' || req.kind === 'drain') && current?.scaled ? { scaled: current.scaled } : {}),
  }, x.targetRec)
  await recordPlacement(records, req, x.targetRec, revision)
  await records.event(app, { at: now, kind: `${req.kind}-succeeded`, revision, by: req.actor, message: `${req.replicas} serving` })
  if (req.kind === 'abort' && req.resume) await records.setOutcome(app, req.resume.waiting, 'rolled-back')
  const after = await observe({ registry: x.registry, records }, app, { prefix: req.spec.announce.prefix }, x.identity, req.hosts)
  await pruneInstanceRecords(records, app, after.state.instances.map((i) => i.name), req.hosts)
  return x.result('succeeded', x.report, after.state.instances)
}

/**
 * Settle when there was nothing to do: records converge too, for a changed replica count (deploy
 * after `forrest scale`), or a revision a crash left in-progress although every instance of it serves.
 */
export async function settleNoop(
  records: Records,
  req: RolloutRequest,
  x: { current?: CurrentRecord; targetRec: RevisionRecord; instances: ObservedInstance[]; result: ResultOf },
): Promise<RolloutResult> {
  const app = req.spec.name
  const { current, targetRec } = x
  const processes = workerCounts(req.spec)
  if (current && (current.replicas !== req.replicas || JSON.stringify(current.processes) !== JSON.stringify(processes) || targetRec.outcome !== 'succeeded')) {
    await records.settle(app, { ...current, replicas: req.replicas, ...(processes ? { processes } : {}) }, targetRec)
  }
  await recordPlacement(records, req, targetRec, current?.revision)
  await pruneInstanceRecords(records, app, x.instances.map((i) => i.name), req.hosts)
  return x.result('noop')
}
