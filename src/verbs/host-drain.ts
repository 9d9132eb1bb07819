import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { loadAppRecords, recordsOf, resolvedSpecOf } from '../engine/app-records.js'
import { hostAvailabilities, placementOf } from '../engine/host-placement.js'
import { prepareRevisionImage } from '../engine/image.js'
import { rollout } from '../engine/rollout.js'
import { resolveRecordedEnv } from '../engine/secrets.js'
import type { OperateOptions, RolloutResult } from '../engine/types.js'
import type { HostAvailabilityRecord } from '../registry/host-availability.js'
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
 *
 * The host's state is written and read with a compare on its key's etcd mod revision: the drain
 * keeps the revision of its own `draining` mark and checks it before each app, again under that
 * app's lock, and when it marks the host drained. An `uncordon` (or another cordon or drain) made
 * meanwhile stops it before the next app (HOST_CHANGED, exit 9), and is never overwritten.
 */
export async function drainHost(ctx: Context, name: string, opts: OperateOptions): Promise<DrainResult> {
  await knownHost(ctx, name)
  const marks = hostAvailabilities(ctx)
  const seen = await marks.read(name)
  const resumed = seen.rec?.availability === 'draining'
  const done: DrainedApp[] = []
  let ours = seen.modRevision
  if (!resumed) ours = (await marks.setIf(name, { availability: 'draining', at: new Date().toISOString(), by: opts.actor }, seen.modRevision)) ?? (await changed('before moving anything'))
  /** Throws HOST_CHANGED unless the host's key is still the drain's own mark (nothing written since). */
  async function changed(where: string): Promise<never> {
    throw hostChanged(name, where, await marks.read(name), done)
  }
  const stillOurs = async (app: string) => {
    if ((await marks.read(name)).modRevision !== ours) await changed(`before ${app}, which was not touched`)
  }
  const records = recordsOf(ctx)
  for (const app of await records.apps()) {
    const there = [...(await records.instances(app)).values()].filter((r) => r.host === name)
    if (there.length === 0) {
      done.push({ app, outcome: 'settled', moved: 0 })
      continue
    }
    await stillOurs(app)
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
        // Again once the app's lock is held: an uncordon while the drain waited for it stops the drain here.
        underLock: () => stillOurs(app),
      })
    } catch (err) {
      if (err instanceof ForrestError && err.code === 'HOST_CHANGED') throw err
      throw stoppedAt(err, name, app, done)
    }
    done.push({ app, outcome: 'moved', moved: there.length, revision: result.revision })
  }
  if ((await marks.setIf(name, { availability: 'drained', at: new Date().toISOString(), by: opts.actor }, ours)) === undefined) await changed('before marking it drained')
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
      // With no other host, "uncordon one of its other hosts" cannot work: only a new host makes room.
      suggestion: `Make room for ${app}${others.length ? ` (uncordon one of its other hosts ${others.join(', ')} with forrest host uncordon NAME, or add a host to its hosts list and deploy it)` : ': add a host to its hosts list (or to the inventory it uses) and deploy it'}, then run forrest host drain ${host} again: it resumes where it stopped. To give up the drain: forrest host uncordon ${host}.`,
    },
  )
}

/**
 * The host was changed while the drain ran (an uncordon, or a cordon or drain after one): the drain
 * stops before the next app, and leaves the host as that change made it.
 */
function hostChanged(host: string, where: string, now: { rec?: HostAvailabilityRecord }, done: DrainedApp[]): ForrestError {
  const state = now.rec?.availability ?? 'active'
  const who = now.rec ? ` (by ${now.rec.by} at ${now.rec.at})` : ''
  const next: Record<typeof state, string> = {
    active: `${host} is in service again: apps moved so far stay on their other hosts until their next deploy rebalances. To drain it after all: forrest host drain ${host}.`,
    cordoned: `${host} is cordoned: nothing new goes there, what runs there stays. To move it off: forrest host drain ${host}.`,
    draining: `Another drain of ${host} was started: let it finish (forrest host ls shows ${host} drained when it has).`,
    drained: `Another drain finished ${host}: nothing is left to do (forrest host ls).`,
  }
  return new ForrestError('HOST_CHANGED', `drain ${host} stopped ${where}: ${host} was changed while the drain ran and is now ${state}${who}; ${movedSoFar(done)}; ${host} was left ${state}, not marked drained`, {
    suggestion: next[state],
    detail: { host, availability: state, apps: done },
  })
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
