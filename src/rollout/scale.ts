import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { loadAppRecords, resolvedSpecOf } from './app-records.js'
import { resolveRecordedEnv } from './secrets.js'
import { rollout, type RolloutOptions, type RolloutResult } from './rollout.js'

export type OperateOptions = Omit<RolloutOptions, 'dryRun'>

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
  // New instances run the recorded image id: check it is still here before touching anything.
  if (replicas > current.replicas) await requireImage(ctx, app, currentRec.revision, currentRec.spec.image, currentRec.imageId)
  const spec = resolvedSpecOf(currentRec)
  return rollout(ctx, {
    kind: 'scale',
    spec,
    // New instances get the secrets the running ones have (checked by fingerprint) or nothing starts.
    env: resolveRecordedEnv({ ...currentRec, spec }, process.env),
    imageId: currentRec.imageId,
    replicas,
    expectRevision: current.revision,
    ...opts,
  })
}

/** IMAGE_NOT_FOUND naming the revision and the image, when a recorded image id is gone from the host. */
export async function requireImage(ctx: Context, app: string, revision: number, image: string, imageId: string): Promise<void> {
  try {
    await ctx.runtime.inspectImage(imageId)
  } catch (err) {
    if (!(err instanceof ForrestError) || err.code !== 'IMAGE_NOT_FOUND') throw err
    throw new ForrestError('IMAGE_NOT_FOUND', `revision ${revision} of ${app} runs image ${image} (${imageId}), which is no longer on this Docker host; nothing was changed`, {
      cause: err,
      suggestion: `Load the image again (docker pull/load ${image}, if the tag still points at ${imageId.slice(7, 19)}), or pick another revision: forrest history ${app}.`,
    })
  }
}
