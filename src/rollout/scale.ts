import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { loadAppRecords, resolvedSpecOf } from './app-records.js'
import { resolveRecordedEnv } from './secrets.js'
import { rollout, type ResolvedSpec, type RolloutOptions, type RolloutResult } from './rollout.js'
import type { RevisionRecord } from '../registry/records.js'
import type { HostState } from '../hosts/fleet.js'
import { prepareHosts } from '../hosts/prepare.js'

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
  const spec = resolvedSpecOf(currentRec)
  // New instances run the recorded image id: check it is on every host before touching anything.
  const hosts = await requireImage(ctx, app, { ...currentRec, spec }, replicas > current.replicas, opts)
  return rollout(ctx, {
    kind: 'scale',
    spec,
    hosts,
    // New instances get the secrets the running ones have (checked by fingerprint) or nothing starts.
    env: resolveRecordedEnv({ ...currentRec, spec }, process.env),
    imageId: currentRec.imageId,
    replicas,
    expectRevision: current.revision,
    ...opts,
  })
}

/**
 * Reaches the revision's hosts and (when it will start instances) checks its recorded image id is
 * on each: IMAGE_NOT_FOUND naming the revision and the image when it is gone.
 */
export async function requireImage(ctx: Context, app: string, rec: Pick<RevisionRecord, 'revision' | 'imageId'> & { spec: ResolvedSpec }, starts: boolean, opts: { allowUnreachableHosts?: boolean }): Promise<HostState[]> {
  const { revision, imageId } = rec
  const image = rec.spec.image
  try {
    return (await prepareHosts(ctx, rec.spec, starts ? imageId : undefined, opts)).hosts
  } catch (err) {
    if (!(err instanceof ForrestError) || err.code !== 'IMAGE_NOT_FOUND') throw err
    throw new ForrestError('IMAGE_NOT_FOUND', `revision ${revision} of ${app} runs image ${image} (${imageId}), which is no longer on every Docker host (${err.message}); nothing was changed`, {
      cause: err,
      suggestion: `Load the image again (docker pull/load ${image}, if the tag still points at ${imageId.slice(7, 19)}), or pick another revision: forrest history ${app}.`,
    })
  }
}
