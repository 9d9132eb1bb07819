import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { loadAppRecords, recordsOf, resolvedSpecOf } from '../engine/app-records.js'
import { hostAvailabilities, placementOf } from '../engine/host-placement.js'
import { prepareRevisionImage } from '../engine/image.js'
import { rollout } from '../engine/rollout.js'
import { resolveRecordedEnv } from '../engine/secrets.js'
import type { OperateOptions, RolloutResult } from '../engine/types.js'
import { knownHost } from './host.js'

export interface DrainedApp {
  app: string
  /** moved: its instances there were started elsewhere, then retired; settled: it had none there (already moved, or never there). */
  outcome: 'moved' | 'settled'
  /** How many of its instances were on the host when the drain came to it. */
  moved: number
  revision?: number
}

export interface DrainResult {
  host: string
  availability: 'drained'
  /** The drain was resumed from a host already draining (an earlier one was interrupted or stopped). */
  resumed: boolean
  apps: DrainedApp[]
}

/**
 * `forrest host drain NAME`: mark the host draining (so every deploy, from anywhere, places nothing
 * there and moves what runs there), then, one app at a time and under each app's own lock, roll
 * the app's current revision and count again with the host left out: new instances start on the
 * other hosts and are acknowledged before those on the host are withdrawn, drained and stopped
 * (the rollout engine's bounds, retire reason rebalance). An app with nowhere else to go stops the
 * drain before that app is touched (NO_ROOM). Run again after an interruption, it resumes: the host
 * is still draining and apps with nothing left there are settled. Ends marked drained.
 */
export async function drainHost(ctx: Context, name: string, opts: OperateOptions): Promise<DrainResult> {
  const row = await knownHost(ctx, name)
  const marks = hostAvailabilities(ctx)
  const resumed = row.availability === 'draining'
  if (!resumed) await marks.set(name, { availability: 'draining', at: new Date().toISOString(), by: opts.actor })
  const records = recordsOf(ctx)
  const done: DrainedApp[] = []
  for (const app of await records.apps()) {
    const there = [...(await records.instances(app)).values()].filter((r) => r.host === name)
    if (there.length === 0) {
      done.push({ app, outcome: 'settled', moved: 0 })
      continue
    }
    const { current, currentRec } = await loadAppRecords(ctx, app)
    const spec = resolvedSpecOf(currentRec)
    // Every host of the app answers and has the revision's image before anything of it changes.
    const hosts = await prepareRevisionImage(ctx, app, { ...currentRec, spec }, current.replicas > 0, opts)
    const where = placementOf(hosts, spec, await marks.list())
    const open = where.hosts.filter((h) => !where.cordoned.includes(h))
    if (current.replicas > 0 && open.length === 0) throw noRoom(name, app, there.length, spec.hosts?.map((h) => h.name) ?? [], done)
    let result: RolloutResult
    try {
      result = await rollout(ctx, {
        kind: 'drain',
        spec,
        hosts,
        env: resolveRecordedEnv({ ...currentRec, spec }, process.env),
        imageId: currentRec.imageId,
        ...(currentRec.digest ? { digest: currentRec.digest } : {}),
        replicas: current.replicas,
        expectRevision: current.revision,
        notes: [`drain ${name}: move ${there.length} instance${there.length === 1 ? '' : 's'} of ${app} to ${open.join(', ')}`],
        ...opts,
      })
    } catch (err) {
      throw stoppedAt(err, name, app, done)
    }
    done.push({ app, outcome: 'moved', moved: there.length, revision: result.revision })
  }
  await marks.set(name, { availability: 'drained', at: new Date().toISOString(), by: opts.actor })
  return { host: name, availability: 'drained', resumed, apps: done }
}

const movedSoFar = (done: DrainedApp[]) => {
  const moved = done.filter((d) => d.outcome === 'moved').map((d) => d.app)
  return moved.length ? `moved so far: ${moved.join(', ')}` : 'no app was moved'
}

function noRoom(host: string, app: string, count: number, appHosts: string[], done: DrainedApp[]): ForrestError {
  const others = appHosts.filter((h) => h !== host)
  return new ForrestError(
    'NO_ROOM',
    `cannot drain ${host}: ${app} has ${count} instance${count === 1 ? '' : 's'} there and no other host may take ${count === 1 ? 'it' : 'them'} (${others.length ? `its other hosts ${others.join(', ')} are cordoned, draining, unreachable or outside its placement` : `${host} is its only host`}); ${app} was not touched, ${movedSoFar(done)}; ${host} stays draining (no new instance goes there)`,
    {
      suggestion: `Make room for ${app} (uncordon one of its other hosts with forrest host uncordon NAME, or add a host to its hosts list and deploy it), then run forrest host drain ${host} again: it resumes where it stopped. To give up the drain: forrest host uncordon ${host}.`,
    },
  )
}

/** A rollout error during the drain, saying where the drain stopped; its code (and exit) stays the rollout's. */
function stoppedAt(err: unknown, host: string, app: string, done: DrainedApp[]): unknown {
  if (!(err instanceof ForrestError)) return err
  return new ForrestError(err.code, `drain ${host} stopped at ${app}: ${err.message}; ${movedSoFar(done)}; ${host} stays draining`, {
    cause: err,
    detail: err.detail,
    suggestion: `${err.suggestion ? `${err.suggestion} ` : ''}Then run forrest host drain ${host} again: it resumes where it stopped.`,
  })
}
