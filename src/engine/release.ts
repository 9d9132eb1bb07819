import type { Identity } from '../context.js'
import { ForrestError } from '../errors.js'
import { forrestLabels } from '../labels.js'
import { releaseLine, releaseSummary } from '../report/release-lines.js'
import type { Records, RevisionRecord } from '../registry/records.js'
import type { Decided } from './decide.js'
import type { ResultOf } from './result.js'
import type { ReleaseSpec } from '../spec/types.js'
import type { ResolvedEnv } from './secrets.js'
import { inServiceHost } from './in-service-host.js'
import { revisionImage } from './templates.js'
import type { ReleaseReport, RolloutRequest } from './types.js'

/** Lines of output kept in the report (and --json); the rest is streamed, then counted. */
const KEEP_LINES = 200

/**
 * The release phase as the rollout runs it: only for a deploy that makes a new revision (not
 * scale, promote or abort; not rollback, whose restored code must work with the schema the newer
 * release left, as Kamal's and Dokku's rollbacks assume). A failure is recorded in history (the
 * revision, outcome failed, and a release-failed event) and thrown as RELEASE_FAILED with the
 * result; nothing else was changed. Returns the report for the result, or undefined when none ran.
 */
export async function release(
  records: Records,
  req: RolloutRequest,
  x: { decided: Decided; identity: Identity; extraLabels: Record<string, string>; result: ResultOf; lost?: AbortSignal },
): Promise<ReleaseReport | undefined> {
  const { spec } = req
  const { decision, current } = x.decided
  if (!releaseRuns(req, decision) || !spec.release) return undefined
  const app = spec.name
  const at = () => new Date().toISOString()
  let report: ReleaseReport
  try {
    report = await runRelease({ ...req, signal: x.lost ? AbortSignal.any([req.signal, x.lost]) : req.signal }, { release: spec.release, target: decision.target, env: req.env, identity: x.identity, extraLabels: x.extraLabels })
  } catch (err) {
    // A lost lock is final: another process may own the app now, so write nothing.
    if (x.lost?.aborted) throw x.lost.reason
    const failed = err instanceof ForrestError && err.code === 'RELEASE_FAILED'
    const detail = (err as ForrestError).detail as { release?: ReleaseReport } | undefined
    if (failed || err instanceof ForrestError && err.code === 'INTERRUPTED') {
      await records.putRevision(app, { ...decision.target, outcome: 'failed' }, current?.revision)
      await records.event(app, { at: at(), kind: 'release-failed', revision: decision.revision, by: req.actor, message: (err as Error).message })
      const e = err as ForrestError
      throw new ForrestError(e.code, e.message, { suggestion: e.suggestion, cause: e.cause, detail: { ...x.result('failed'), ...(detail?.release ? { release: detail.release } : {}) } })
    }
    throw err
  }
  await records.event(app, { at: at(), kind: 'release-succeeded', revision: decision.revision, by: req.actor, message: `${JSON.stringify(report.command)} exited 0 in ${(report.durationMs / 1000).toFixed(1)}s on ${report.host}` })
  return report
}

/** Whether the rollout runs the release command: a deploy that makes a new revision of a spec with one. Pure. */
export const releaseRuns = (req: Pick<RolloutRequest, 'kind' | 'spec'>, decision: Pick<Decided['decision'], 'reuse'>): boolean =>
  Boolean(req.spec.release) && req.kind === 'deploy' && !decision.reuse

/** The plan's note that the release command runs first (shown by diff / --dry-run too). Pure. */
export const releaseNote = (cmd: string[]): string => `release command ${JSON.stringify(cmd)} runs first, once, in the new image; no instance changes until it exits 0`

/**
 * The release command itself: the spec's release command, once, in one container of the new revision's
 * image with the app's env, secrets and container settings (networks, volumes...), on the first host in service (in-service-host.ts:
 * not cordoned, draining or drained; none: NO_ROOM, exit 22), before any instance of the
 * revision starts (the old revision still serves). Its output streams into the deploy's output
 * with secret values masked; the container is removed afterwards. Returns the report when it
 * exited 0; throws RELEASE_FAILED (with the report) on a non-zero exit or the timeout. Recording
 * the failure is the caller's (it holds the records).
 */
export async function runRelease(
  req: Pick<RolloutRequest, 'spec' | 'hosts' | 'renderer' | 'signal' | 'availability'>,
  x: { release: ReleaseSpec; target: RevisionRecord; env: ResolvedEnv; identity: Identity; extraLabels?: Record<string, string>; print?: (line: string) => void },
): Promise<ReleaseReport> {
  const app = req.spec.name
  const chosen = inServiceHost(req.hosts, req.spec, req.availability ?? new Map(), { what: `release command of ${app}`, retry: 'deploy again' })
  if (!chosen) throw new ForrestError('DOCKER_UNREACHABLE', `${app}: no reachable host to run the release command on`, { suggestion: 'Bring a host of the app back, then deploy again.' })
  const { host } = chosen
  const print = x.print ?? (req.renderer === 'silent' ? () => undefined : (l: string) => process.stdout.write(`${l}\n`))
  if (chosen.line.includes('passed over')) print(`release command runs ${chosen.line}`)
  const mask = masker(x.env)
  const output: string[] = []
  let dropped = 0
  const t0 = Date.now()
  const result = await host.runtime.runTask({
    name: `${app}-release-${x.target.revision}-${Date.now().toString(36)}`,
    image: revisionImage(x.target),
    env: x.env.values,
    command: x.release.command,
    labels: { ...x.extraLabels, ...req.spec.labels, ...forrestLabels({ owner: x.identity.owner, app, kind: 'release', revision: x.target.revision, template: x.target.templateHash, prefix: req.spec.announce.prefix }) },
    // The app's networks and volumes: a migration reaches the database by name and sees the app's data.
    settings: req.spec.container,
    timeoutMs: x.release.timeout,
    signal: req.signal,
    onLine: (raw) => {
      const line = mask(raw)
      if (output.length < KEEP_LINES) output.push(line)
      else dropped++
      print(releaseLine(line))
    },
  })
  const report: ReleaseReport = {
    command: x.release.command,
    host: host.name,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    durationMs: Date.now() - t0,
    output: dropped ? [...output, `(${dropped} more lines not kept)`] : output,
  }
  print(releaseSummary(report))
  if (req.signal.aborted) {
    throw new ForrestError('INTERRUPTED', `deploy of ${app} interrupted during its release command; no instance was changed`, { suggestion: 'Run the same deploy again: the release command runs again.', detail: { release: report } })
  }
  if (result.exitCode === 0 && !result.timedOut) return report
  throw releaseFailed(app, x.target.revision, report)
}

export function releaseFailed(app: string, revision: number, report: ReleaseReport): ForrestError {
  const what = report.timedOut ? `timed out after ${Math.round(report.durationMs / 1000)}s (release.timeout)` : `exited ${report.exitCode}`
  return new ForrestError('RELEASE_FAILED', `release command of ${app} revision ${revision} ${what}; no instance was started or stopped, the previous revision (if any) still serves`, {
    suggestion: `Its output is above (and in --json's release.output). Fix the command or what it needs, then deploy again; \`forrest history ${app}\` shows the failed revision.`,
    detail: { release: report },
  })
}

/** Replaces every secret's value in a line with "***" (longest first, so one inside another is covered). */
export function masker(env: ResolvedEnv): (line: string) => string {
  const secrets = Object.keys(env.fingerprints)
    .map((k) => env.values[k])
    .filter((v): v is string => typeof v === 'string' && v.length >= 3)
    .sort((a, b) => b.length - a.length)
  return (line) => secrets.reduce((l, s) => l.split(s).join('***'), line)
}
