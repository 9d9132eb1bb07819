import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import type { RevisionRecord } from '../registry/records.js'
import { loadAppRecords, resolvedSpecOf } from '../engine/app-records.js'
import { prepareRevisionImage } from '../engine/image.js'
import { resolveRecordedEnv } from '../engine/secrets.js'
import { rollout } from '../engine/rollout.js'
import type { RolloutResult } from '../engine/types.js'
import { heldRevision } from '../engine/held-canary.js'
import { withWorkerCounts } from '../engine/process-plan.js'
import type { OperateOptions } from '../engine/types.js'

/** The revision held after its canary (update.canary.pause), newer than the current one. Pure. */
export function waitingRevision(app: string, revisions: RevisionRecord[], current: number): RevisionRecord {
  const waiting = heldRevision(revisions, current)
  if (!waiting) {
    throw new ForrestError('REVISION_NOT_FOUND', `${app} has no rollout waiting for promotion (current revision ${current}); nothing was changed`, {
      suggestion: `forrest history ${app} shows the revisions; a deploy holds for promote or abort only with update.canary.pause: true (after its canary) or update.blueGreen.pause: true (before the switch).`,
    })
  }
  return waiting
}

/**
 * `forrest promote APP` and `forrest abort APP`: the same lock → observe → plan → execute path as
 * a deploy, converging to the waiting revision (promote: the canary instances stay, the old ones
 * are replaced) or to the current one (abort: the canary instances are retired). Neither makes a
 * new revision, and neither runs the canary again.
 */
export async function resumeRollout(ctx: Context, app: string, verb: 'promote' | 'abort', opts: OperateOptions): Promise<RolloutResult> {
  const { current, revisions, currentRec } = await loadAppRecords(ctx, app)
  const waiting = waitingRevision(app, revisions, current.revision)
  const target = verb === 'promote' ? waiting : currentRec
  const replicas = verb === 'promote' ? waiting.spec.replicas : current.replicas
  // Workers: promote takes the waiting revision's counts (the file's), abort keeps those running now.
  const spec = withWorkerCounts({ ...resolvedSpecOf(target), replicas }, verb === 'abort' ? current.processes : undefined)
  const hosts = await prepareRevisionImage(ctx, app, { ...target, spec }, true, opts)
  const env = resolveRecordedEnv({ ...target, spec }, process.env)
  return rollout(ctx, {
    kind: verb,
    spec,
    env,
    hosts,
    imageId: target.imageId,
    ...(target.digest ? { digest: target.digest } : {}),
    replicas,
    resume: { revision: target.revision, waiting: waiting.revision },
    expectRevision: current.revision,
    ...opts,
  })
}
