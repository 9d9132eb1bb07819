import { normalizePrefix } from '../config.js'
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { Records, type CurrentRecord, type RevisionRecord } from '../registry/records.js'
import { resolveRecordedEnv } from './secrets.js'
import type { ResolvedSpec, RolloutRequest } from './types.js'

/** What forrest recorded about one deployed app: its current pointer and its revisions. */
export interface AppRecords {
  records: Records
  current: CurrentRecord
  /** Oldest first. */
  revisions: RevisionRecord[]
  currentRec: RevisionRecord
}

/** Records for reading (and unfenced writes); a rollout writes through its lock instead. */
export const recordsOf = (ctx: Context) => new Records(ctx.etcd, ctx.config.etcdHosts, ctx.config.recordsRoot, ctx.writer)

/** APP_NOT_FOUND, naming the apps forrest does know. */
export function appNotFound(app: string, known: string[]): ForrestError {
  return new ForrestError('APP_NOT_FOUND', `no app named "${app}" has been deployed with forrest`, {
    suggestion: known.length ? `Known apps: ${known.join(', ')}.` : 'No app has been deployed yet: forrest deploy FILE.',
  })
}

/** Loads an app's records or fails with APP_NOT_FOUND; reads only, changes nothing. */
export async function loadAppRecords(ctx: Context, app: string): Promise<AppRecords> {
  const records = recordsOf(ctx)
  const [current, revisions] = await Promise.all([records.current(app), records.revisions(app)])
  if (!current) throw appNotFound(app, await records.apps())
  const currentRec = revisions.find((r) => r.revision === current.revision)
  if (!currentRec) {
    throw new ForrestError('REVISION_NOT_FOUND', `${app}: current revision ${current.revision} has no record in etcd`, {
      suggestion: `Deploy the app's file again: forrest deploy FILE.`,
    })
  }
  return { records, current, revisions, currentRec }
}

/**
 * A recorded spec was stored resolved (port and announce filled in), so it can be rolled out
 * again as is; its prefix is normalised (older records kept it as written), and a record from
 * before `gateways:`, `hostPorts:` or `pull:` existed gets their defaults.
 */
export function resolvedSpecOf(rec: RevisionRecord): ResolvedSpec {
  const { spec } = rec
  if (spec.port === undefined || spec.announce.prefix === undefined || spec.announce.address === undefined) {
    throw new ForrestError('INTERNAL', `revision ${rec.revision} of ${spec.name} was recorded without a resolved port or announce address`)
  }
  return {
    ...spec,
    port: spec.port,
    announce: { prefix: normalizePrefix(spec.announce.prefix), address: spec.announce.address },
    gateways: spec.gateways ?? { required: 0, timeout: 30_000 },
    hostPorts: spec.hostPorts ?? { from: 20_000, to: 29_999 },
    pull: spec.pull ?? 'missing',
  }
}

/**
 * The parts of a rollout request that roll the current revision again (scale, drain, tidy): its
 * recorded image (digest), its secrets as the running instances have them (checked by
 * fingerprint), and the revision the records must still say is current under the lock.
 */
export function currentRevisionRequest({ current, currentRec }: Pick<AppRecords, 'current' | 'currentRec'>, spec: ResolvedSpec): Pick<RolloutRequest, 'spec' | 'env' | 'imageId' | 'digest' | 'expectRevision'> {
  return {
    spec,
    env: resolveRecordedEnv({ ...currentRec, spec }, process.env),
    imageId: currentRec.imageId,
    ...(currentRec.digest ? { digest: currentRec.digest } : {}),
    expectRevision: current.revision,
  }
}
