import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { currentRevisionRequest, loadAppRecords, recordsOf, resolvedSpecOf } from '../engine/app-records.js'
import { prepareRevisionImage } from '../engine/image.js'
import { withWorkerCounts } from '../engine/process-plan.js'
import { rollout } from '../engine/rollout.js'
import type { OperateOptions } from '../engine/types.js'
import { standbyExpired } from '../plan/keep-old.js'

/** One app's blue/green standby, as `forrest tidy` found and left it. */
export interface TidiedApp {
  app: string
  /** The revision that stood by at weight 0. */
  revision: number
  until: string
  /** retired: its time was up and it was drained and stopped; kept: its time is not up yet. */
  outcome: 'retired' | 'kept'
  /** retired: the instances drained and stopped. */
  retired?: string[]
}

export interface TidyResult {
  /** Every app with a recorded standby (or the one named), and what tidy did with it. */
  apps: TidiedApp[]
  /** How many standbys were retired (0: nothing had expired, nothing was touched). */
  retired: number
}

/**
 * `forrest tidy [APP]`: retires every blue/green standby whose update.blueGreen.keepOld is up,
 * one app at a time under that app's own lock (a rollout of the current revision and count that
 * plans the standby's instances as old ones: withdrawn, drained and stopped within the bounds).
 * forrest runs no daemon, so this is what a cron job or systemd timer runs; nothing expired is a
 * no-op. The expiry is checked again under the lock (plan/keep-old.ts), where a rollout that
 * changed the app in between fails with REVISION_CHANGED (exit 9) rather than acting on stale records.
 */
export async function tidy(ctx: Context, only: string | undefined, opts: OperateOptions): Promise<TidyResult> {
  const apps = only ? [only] : await recordsOf(ctx).apps()
  const out: TidiedApp[] = []
  for (const app of apps) {
    const { current, currentRec } = await loadAppRecords(ctx, app)
    const standby = current.standby
    if (!standby) continue
    if (!standbyExpired(standby, new Date())) {
      out.push({ app, revision: standby.revision, until: standby.until, outcome: 'kept' })
      continue
    }
    const spec = withWorkerCounts(resolvedSpecOf(currentRec), current.processes)
    const hosts = await prepareRevisionImage(ctx, app, { ...currentRec, spec }, current.replicas > 0, opts)
    try {
      const result = await rollout(ctx, {
        kind: 'tidy',
        ...currentRevisionRequest({ current, currentRec }, spec),
        hosts,
        replicas: current.replicas,
        notes: [`tidy: revision ${standby.revision} stood by at weight 0 until ${standby.until} (update.blueGreen.keepOld): retire it`],
        ...opts,
      })
      const retired = result.plan.waves.flatMap((w) => w.retires).filter((r) => r.revision === standby.revision).map((r) => r.instance)
      out.push({ app, revision: standby.revision, until: standby.until, outcome: 'retired', retired })
    } catch (err) {
      throw stoppedAt(err, app, out)
    }
  }
  return { apps: out, retired: out.filter((a) => a.outcome === 'retired').length }
}

/** A rollout error during tidy, saying which app it stopped at and what was retired before; its code (and exit) stays the rollout's. */
function stoppedAt(err: unknown, app: string, done: TidiedApp[]): unknown {
  if (!(err instanceof ForrestError)) return err
  const before = done.filter((d) => d.outcome === 'retired').map((d) => d.app)
  return new ForrestError(err.code, `tidy stopped at ${app}: ${err.message}; ${before.length ? `standbys retired before it: ${before.join(', ')}` : 'no standby was retired before it'}; the apps after it were not looked at`, {
    cause: err,
    detail: err.detail,
    suggestion: `${err.suggestion ? `${err.suggestion} ` : ''}Then run forrest tidy again: it retires what is still expired.`,
  })
}

/** The human lines of a tidy. Pure. */
export function describeTidy(r: TidyResult, only: string | undefined): string[] {
  const lines: string[] = []
  for (const a of r.apps) {
    if (a.outcome === 'retired') lines.push(`${a.app}: retired revision ${a.revision} (stood by at weight 0 until ${a.until}): ${a.retired?.length ? `drained and stopped ${a.retired.join(', ')}` : 'nothing of it was left running'}`)
    else lines.push(`${a.app}: revision ${a.revision} stands by at weight 0 until ${a.until}: kept (forrest rollback ${a.app} switches back in one step)`)
  }
  if (r.retired === 0) lines.push(`nothing to tidy: no blue/green standby${only ? ` of ${only}` : ''} has expired; nothing was changed`)
  return lines
}
