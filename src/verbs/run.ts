import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { eligible, hostsOf, reachHosts, hostsUnreachable } from '../hosts/fleet.js'
import { forrestLabels } from '../labels.js'
import { loadAppRecords, resolvedSpecOf } from '../engine/app-records.js'
import { resolveRecordedEnv } from '../engine/secrets.js'
import { revisionImage } from '../engine/templates.js'
import { hostAvailabilities } from '../engine/host-placement.js'
import { inServiceHost } from '../engine/in-service-host.js'

export interface RunRequest {
  app: string
  /** Default: the current revision. */
  revision?: number
  command: string[]
  tty: boolean
  size?: { rows: number; columns: number }
  stdin?: NodeJS.ReadableStream
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  signal: AbortSignal
  /** Told which host the container runs on (and which were passed over). */
  say?: (line: string) => void
}

export interface RunResult {
  app: string
  revision: number
  host: string
  exitCode: number
}

/**
 * `forrest run APP -- CMD…`: a one-off container of a revision (the current one, or a named one
 * still in history) with the app's env, secrets and container settings (its networks, volumes...), on the first host of the app in service
 * (not cordoned, draining or drained; none: NO_ROOM, exit 22, nothing started), the
 * caller's stdio attached; never announced, never adopted by a rollout (kind "run"), removed
 * afterwards. Changes nothing else and takes no lock: it is how a console or a backfill runs.
 */
export async function runOneOff(ctx: Context, req: RunRequest): Promise<RunResult> {
  if (!req.command.length) {
    throw new ForrestError('BAD_INPUT', 'no command to run', { suggestion: `Name it after "--": forrest run ${req.app} -- /bin/sh` })
  }
  const { currentRec, revisions } = await loadAppRecords(ctx, req.app)
  const rec = req.revision === undefined ? currentRec : revisions.find((r) => r.revision === req.revision)
  if (!rec) {
    throw new ForrestError('REVISION_NOT_FOUND', `${req.app} has no revision ${req.revision} in its history`, {
      suggestion: `\`forrest history ${req.app}\` lists the revisions kept; leave --revision out for the current one.`,
    })
  }
  const spec = resolvedSpecOf(rec)
  // Secrets are read now, as a rollback reads them: from this job's environment and files.
  const env = resolveRecordedEnv({ ...rec, spec }, process.env)
  const states = await reachHosts(eligible(hostsOf(ctx, spec), spec))
  const up = inServiceHost(states, spec, await hostAvailabilities(ctx).list(), { what: `forrest run ${req.app}`, retry: 'run it again' })
  if (!up) throw hostsUnreachable(states, `${req.app}: no host to run on`)
  // Said (on stderr) when a host was passed over; otherwise stderr stays the command's own.
  if (up.line.includes('passed over')) req.say?.(`forrest run ${req.app}: revision ${rec.revision} ${up.line}`)
  const identity = await ctx.identity()
  const result = await up.host.runtime.runAttached({
    name: `${req.app}-run-${rec.revision}-${Date.now().toString(36)}`,
    image: revisionImage(rec),
    env: env.values,
    command: req.command,
    labels: { ...ctx.config.extraLabels, ...spec.labels, ...forrestLabels({ owner: identity.owner, app: req.app, kind: 'run', revision: rec.revision, template: rec.templateHash, prefix: spec.announce.prefix }) },
    settings: spec.container,
    tty: req.tty,
    size: req.size,
    stdin: req.stdin,
    stdout: req.stdout,
    stderr: req.stderr,
    signal: req.signal,
  })
  return { app: req.app, revision: rec.revision, host: up.host.name, exitCode: result.exitCode }
}
