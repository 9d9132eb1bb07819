import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { loadAppRecords, resolvedSpecOf } from '../engine/app-records.js'
import { prepareRevisionImage } from '../engine/image.js'
import { resolveRecordedEnv } from '../engine/secrets.js'
import { rollout } from '../engine/rollout.js'
import type { RolloutResult } from '../engine/types.js'
import type { OperateOptions } from '../engine/types.js'

/**
 * `forrest scale APP N`: the current revision (its recorded spec and image id) with another
 * replica count. Running instances are kept; scale-down withdraws, drains, then stops the
 * highest ordinals. A later `forrest deploy` of the file sets the count back (its plan says so).
 */
export async function scale(ctx: Context, app: string, replicas: number, opts: OperateOptions): Promise<RolloutResult> {
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new ForrestError('BAD_INPUT', `replica count must be an integer >= 0, got ${replicas}`, { suggestion: 'forrest scale APP N, e.g. forrest scale myapp 5' })
  }
  const { current, currentRec } = await loadAppRecords(ctx, app)
  const spec = resolvedSpecOf(currentRec)
  // New instances run the recorded digest (or image id): on every host before anything is touched.
  const hosts = await prepareRevisionImage(ctx, app, { ...currentRec, spec }, replicas > current.replicas, opts)
  return rollout(ctx, {
    kind: 'scale',
    spec,
    hosts,
    // New instances get the secrets the running ones have (checked by fingerprint) or nothing starts.
    env: resolveRecordedEnv({ ...currentRec, spec }, process.env),
    imageId: currentRec.imageId,
    ...(currentRec.digest ? { digest: currentRec.digest } : {}),
    replicas,
    expectRevision: current.revision,
    ...opts,
  })
}
