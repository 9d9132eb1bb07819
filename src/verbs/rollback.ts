import { withWorkerCounts } from '../engine/process-plan.js'
import type { Context } from '../context.js'
import { standsBy } from '../engine/blue-green.js'
import { ForrestError } from '../errors.js'
import type { RevisionRecord } from '../registry/records.js'
import { loadAppRecords, resolvedSpecOf } from '../engine/app-records.js'
import { resolveRecordedEnv } from '../engine/secrets.js'
import { rollout } from '../engine/rollout.js'
import type { RolloutResult } from '../engine/types.js'
import { prepareRevisionImage } from '../engine/image.js'
import type { OperateOptions } from '../engine/types.js'

/** What brings an app out of step (an interrupted or failed deploy) back to its current revision: not a rollback. */
const backToCurrent = (revision: number) => `Revision ${revision} is current: to bring every instance back to it, deploy its file again (forrest deploy FILE).`

/**
 * The revision `forrest rollback` restores. Pure.
 * Without `to`: the newest revision older than the current one whose rollout succeeded and
 * that runs something different from the current one (rolled-back and failed ones are skipped).
 */
export function chooseRollbackTarget(app: string, revisions: RevisionRecord[], current: RevisionRecord, to?: number): RevisionRecord {
  const list = () => revisions.map((r) => `${r.revision} (${r.outcome})`).join(', ')
  if (to !== undefined) {
    const rec = revisions.find((r) => r.revision === to)
    if (!rec) {
      throw new ForrestError('REVISION_NOT_FOUND', `${app} has no revision ${to}`, { suggestion: `Recorded revisions: ${list()}. See forrest history ${app}.` })
    }
    if (rec.revision === current.revision) {
      throw new ForrestError('BAD_INPUT', `revision ${to} is already the current revision of ${app}; nothing was changed`, { suggestion: `${backToCurrent(current.revision)} To run another revision, pick it from forrest history ${app}.` })
    }
    return rec
  }
  const candidates = revisions
    .filter((r) => r.revision < current.revision && r.outcome === 'succeeded' && r.templateHash !== current.templateHash)
    .sort((a, b) => b.revision - a.revision)
  if (!candidates[0]) {
    const others = revisions.filter((r) => r.revision !== current.revision).map((r) => r.revision)
    throw new ForrestError('REVISION_NOT_FOUND', `${app} has no earlier successful revision to roll back to (current: revision ${current.revision}); nothing was changed`, {
      suggestion: `Recorded revisions: ${list()}. ${backToCurrent(current.revision)}${others.length ? ` To run another revision: forrest rollback ${app} --to ${others.join(' or --to ')}.` : ''}`,
    })
  }
  return candidates[0]
}

/**
 * `forrest rollback APP [--to N]`: rolls the chosen revision's spec and image out as a NEW
 * revision that records `restoredFrom` (as kubectl rollout undo does), with the current replica
 * count and the same zero-downtime rollout as a deploy. The image is checked first.
 */
export async function rollback(ctx: Context, app: string, to: number | undefined, opts: OperateOptions): Promise<RolloutResult> {
  const { current, revisions, currentRec } = await loadAppRecords(ctx, app)
  const target = chooseRollbackTarget(app, revisions, currentRec, to)
  // Every process goes back, at the counts running now (forrest scale's included).
  const spec = withWorkerCounts({ ...resolvedSpecOf(target), replicas: current.replicas }, current.processes)
  const hosts = await prepareRevisionImage(ctx, app, { ...target, spec }, true, opts)
  // Its secrets must still be readable, with the values it ran with: said before anything is touched.
  const env = resolveRecordedEnv({ ...target, spec }, process.env)
  // Blue/green kept it running at weight 0: switch back to that revision, starting nothing.
  const standby = (await standsBy(ctx, app, spec.announce.prefix, target.revision)) ? { standby: target.revision } : { restoredFrom: target.revision }
  return rollout(ctx, {
    kind: 'rollback',
    spec,
    env,
    hosts,
    imageId: target.imageId,
    ...(target.digest ? { digest: target.digest } : {}),
    replicas: current.replicas,
    ...standby,
    expectRevision: current.revision,
    ...opts,
  })
}
