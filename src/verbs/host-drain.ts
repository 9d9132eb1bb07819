import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { currentRevisionRequest, loadAppRecords, recordsOf, resolvedSpecOf } from '../engine/app-records.js'
import { hostAvailabilities, placementOf } from '../engine/host-placement.js'
import { withWorkerCounts } from '../engine/process-plan.js'
import { prepareRevisionImage } from '../engine/image.js'
import { rollout } from '../engine/rollout.js'
import type { OperateOptions, RolloutResult } from '../engine/types.js'
import type { HostAvailabilityRecord } from '../registry/host-availability.js'
import type { DeploymentSpec } from '../spec/types.js'
import { knownHost } from './host.js'
import { total, workersOnHosts } from './host-workers.js'

export interface DrainedApp {
  app: string
  /** moved: its instances there were started elsewhere, then retired; settled: it had none there (already moved, or never there). */
  outcome: 'moved' | 'settled'
  /** How many of its instances (web's and its workers') were on the host when the drain came to it. */
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
  const apps = await records.apps()
  // Workers have no instance records (never announced): their containers on the host are found by their labels.
  const workers = await workersThere(ctx, name, apps, done, opts.allowUnreachableHosts === true)
  for (const app of apps) {
    const web = [...(await records.instances(app)).values()].filter((r) => r.host === name).length
    const procs = workers.counts.get(app) ?? new Map<string, number>()
    const there = web + total(procs)
    if (there === 0 && !workers.unseen.has(app)) {
      done.push({ app, outcome: 'settled', moved: 0 })
      continue
    }
    await stillOurs(app)
    const { current, currentRec } = await loadAppRecords(ctx, app)
    // The workers' counts a forrest scale recorded, as every rollout of the current revision keeps them.
    const spec = withWorkerCounts(resolvedSpecOf(currentRec), current.processes)
    // Every host of the app answers and has the revision's image before anything of it changes.
    const hosts = await prepareRevisionImage(ctx, app, { ...currentRec, spec }, current.replicas > 0 || total(procs) > 0, opts)
    const availability = await marks.list()
    const openFor = (placement: typeof spec.placement) => {
      const where = placementOf(hosts, { ...spec, placement }, availability)
      return where.hosts.filter((h) => !where.cordoned.includes(h))
    }
    const open = openFor(spec.placement)
    if (web > 0 && current.replicas > 0 && open.length === 0) throw noRoom(name, app, web, spec.hosts?.map((h) => h.name) ?? [], done)
    // Each worker by its own placement: one with nowhere else to go stops the drain before the app is touched.
    const to = new Set(web > 0 ? open : [])
    for (const [process, count] of procs) {
      const p = spec.processes?.[process]
      const room = openFor(p?.placement)
      if (p && p.replicas > 0 && room.length === 0) throw noRoom(name, app, count, spec.hosts?.map((h) => h.name) ?? [], done, process)
      for (const h of room) to.add(h)
    }
    let result: RolloutResult
    try {
      result = await rollout(ctx, {
        kind: 'drain',
        ...currentRevisionRequest({ current, currentRec }, spec),
        hosts,
        replicas: current.replicas,
        notes: [`drain ${name}: move ${there} instance${there === 1 ? '' : 's'} of ${app} to ${[...to].sort().join(', ')}`],
        ...opts,
        // Again once the app's lock is held: an uncordon while the drain waited for it stops the drain here.
        underLock: () => stillOurs(app),
      })
    } catch (err) {
      if (err instanceof ForrestError && err.code === 'HOST_CHANGED') throw err
      throw stoppedAt(err, name, app, done)
    }
    done.push({ app, outcome: 'moved', moved: there, revision: result.revision })
  }
  if ((await marks.setIf(name, { availability: 'drained', at: new Date().toISOString(), by: opts.actor }, ours)) === undefined) await changed('before marking it drained')
  return { host: name, availability: 'drained', resumed, apps: done }
}

const movedSoFar = (done: DrainedApp[]) => {
  const moved = done.filter((d) => d.outcome === 'moved').map((d) => d.app)
  return moved.length ? `moved so far: ${moved.join(', ')}` : 'no app was moved'
}

/**
 * The worker containers of each app on the host. A host that does not answer stops the drain
 * before any app (its workers cannot be seen); with --allow-unreachable-hosts, the apps with workers
 * that list it are `unseen` and rolled anyway (their rollout places the workers on the other hosts).
 */
async function workersThere(ctx: Context, host: string, apps: string[], done: DrainedApp[], allowUnreachable: boolean) {
  const records = recordsOf(ctx)
  const specs = new Map<string, DeploymentSpec>()
  for (const app of apps) {
    const current = await records.current(app)
    const spec = current ? (await records.revision(app, current.revision))?.spec : undefined
    if (spec?.processes) specs.set(app, spec)
  }
  const none = { counts: new Map<string, Map<string, number>>(), unseen: new Set<string>() }
  if (specs.size === 0) return none
  const { hosts, unreachable } = await workersOnHosts(ctx, specs, host)
  const err = unreachable.get(host)
  if (err && allowUnreachable) return { ...none, unseen: new Set([...specs].filter(([, s]) => s.hosts?.some((h) => h.name === host)).map(([app]) => app)) }
  if (err) {
    throw new ForrestError(err.code, `drain ${host} stopped before any app: ${host} did not answer, so its workers (never announced, found by their containers) cannot be seen: ${err.message}; ${movedSoFar(done)}; ${host} stays draining`, {
      cause: err,
      suggestion: `${err.suggestion ? `${err.suggestion} ` : ''}Then run forrest host drain ${host} again: it resumes where it stopped. If ${host} is down for good: forrest host drain ${host} --allow-unreachable-hosts rolls its apps on the hosts that answer (nothing on ${host} is touched).`,
    })
  }
  return { ...none, counts: hosts.get(host) ?? none.counts }
}

function noRoom(host: string, app: string, count: number, appHosts: string[], done: DrainedApp[], process?: string): ForrestError {
  const others = appHosts.filter((h) => h !== host)
  return new ForrestError(
    'NO_ROOM',
    `cannot drain ${host}: ${process ? `${app}'s process ${process}` : app} has ${count} instance${count === 1 ? '' : 's'} there and no other host may take ${count === 1 ? 'it' : 'them'} (${others.length ? `its other hosts ${others.join(', ')} are cordoned, draining, unreachable or outside its placement${process ? ` (processes.${process}.placement)` : ''}` : `${host} is its only host`}); ${app} was not touched, ${movedSoFar(done)}; ${host} stays draining (no new instance goes there)`,
    {
      // With no other host, "uncordon one of its other hosts" cannot work: only a new host makes room.
      suggestion: `Make room for ${app}${process && others.length ? ` (widen processes.${process}.placement.labels so one of its other hosts ${others.join(', ')} matches, then deploy it; or, if one of them already matches, uncordon it with forrest host uncordon NAME)` : others.length ? ` (uncordon one of its other hosts ${others.join(', ')} with forrest host uncordon NAME, or add a host to its hosts list and deploy it)` : ': add a host to its hosts list (or to the inventory it uses) and deploy it'}, then run forrest host drain ${host} again: it resumes where it stopped. To give up the drain: forrest host uncordon ${host}.`,
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
