import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { currentRevisionRequest, loadAppRecords, resolvedSpecOf } from '../engine/app-records.js'
import { prepareRevisionImage } from '../engine/image.js'
import { rollout } from '../engine/rollout.js'
import type { RolloutResult } from '../engine/types.js'
import type { OperateOptions } from '../engine/types.js'
import { withWorkerCounts, workerCounts } from '../engine/process-plan.js'
import { processNames } from '../spec/processes.js'
import { countsFor, type ScaleRequest } from './scale-counts.js'

/**
 * `forrest scale APP N`: the current revision (its recorded spec and image id) with another
 * replica count. Running instances are kept; scale-down withdraws, drains, then stops the
 * highest ordinals. A later `forrest deploy` of the file sets the count back (its plan says so).
 */
export async function scale(ctx: Context, app: string, request: number | ScaleRequest, opts: OperateOptions): Promise<RolloutResult> {
  const req = typeof request === 'number' ? { bare: request } : request
  if ('bare' in req && (!Number.isInteger(req.bare) || req.bare < 0)) {
    throw new ForrestError('BAD_INPUT', `replica count must be an integer >= 0, got ${req.bare}`, { suggestion: 'forrest scale APP N, e.g. forrest scale myapp 5' })
  }
  const { current, currentRec } = await loadAppRecords(ctx, app)
  const recorded = withWorkerCounts(resolvedSpecOf(currentRec), current.processes)
  // Checked against the recorded processes before anything is touched (an unknown one: exit 2).
  const counts = countsFor(app, req, processNames(recorded), { web: current.replicas, workers: workerCounts(recorded) ?? {} })
  const replicas = counts.web
  const spec = withWorkerCounts(recorded, counts.workers)
  const growing = replicas > current.replicas || Object.entries(counts.workers).some(([p, n]) => n > (recorded.processes?.[p]?.replicas ?? 0))
  // New instances run the recorded digest (or image id): on every host before anything is touched.
  const hosts = await prepareRevisionImage(ctx, app, { ...currentRec, spec }, growing, opts)
  return rollout(ctx, {
    kind: 'scale',
    ...currentRevisionRequest({ current, currentRec }, spec),
    hosts,
    replicas,
    ...opts,
  })
}
