/**
 * The planner: (target, observed) → RolloutPlan. Pure and deterministic.
 *
 * 1. Drift wave: withdraw stale keys, remove stopped and unneeded unregistered containers, adopt
 *    running unregistered containers of the target revision that are still needed.
 * 2. Converge: waves of starts and retires until exactly `replicas` instances of the target
 *    revision serve. At every step, serving >= floor and containers <= ceiling, where
 *      floor   = min(serving now, replicas - maxUnavailable)
 *      ceiling = max(containers now, replicas + maxSurge)
 *    (relaxed to the current state, so an already degraded app can still be rolled).
 *    "containers" are those in service or coming into service: the executor may still be
 *    stopping a retired (withdrawn, drained) one, which, as in Kubernetes, is not counted.
 */
import { ForrestError } from '../errors.js'
import { nameAllocator, parseInstanceName } from './naming.js'
import { desiredAvoiding } from './cordon.js'
import { hostPicker, splitByPlacement } from './placement.js'
import type { AdoptStep, ObservedInstance, ObservedState, PlanAction, RetireStep, RolloutPlan, RolloutTarget, StartStep, Wave } from './types.js'

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

export function planRollout(target: RolloutTarget, observed: ObservedState): RolloutPlan {
  checkTarget(target)
  const { app } = observed
  const drift = planDrift(target, observed)
  const converge = planConverge(target, app, drift.servingTarget, drift.servingOld, [...observed.instances.map((i) => i.name), ...(observed.reserved ?? [])])
  const waves = drift.wave ? [drift.wave, ...converge.waves] : converge.waves

  const revisionChanged = observed.currentRevision !== undefined && observed.currentRevision !== target.revision
  const action: PlanAction =
    waves.length === 0
      ? 'noop'
      : observed.instances.length === 0 && observed.currentRevision === undefined
        ? 'create'
        : drift.servingOld.length > 0 || revisionChanged
          ? 'update'
          : drift.wave
            ? 'repair'
            : 'scale'

  const notes = [...drift.notes]
  const n = drift.servingTarget.length
  const o = drift.servingOld.length
  const strategy = `${target.order}, maxSurge ${target.maxSurge}, maxUnavailable ${target.maxUnavailable}`
  if (action === 'noop') {
    notes.push(`${app} is up to date: revision ${target.revision}, ${n}/${target.replicas} serving`)
    if (revisionChanged) notes.push(`records say revision ${observed.currentRevision}, but every instance already runs revision ${target.revision}`)
  } else if (action === 'create') {
    notes.push(`create ${app} revision ${target.revision}: start ${plural(target.replicas, 'instance')}`)
  } else if (action === 'update' && observed.currentRevision === target.revision) {
    // abort after a held canary, or drift: the current revision stays, the others' instances go.
    const others = [...new Set(drift.servingOld.map((i) => i.revision))].sort((a, b) => (a ?? 0) - (b ?? 0)).map((r) => (r === undefined ? 'an unrecorded revision' : `revision ${r}`))
    notes.push(`bring ${app} back to revision ${target.revision}: retire ${plural(o, 'instance')} of ${others.join(', ')} (${strategy})`)
  } else if (action === 'update') {
    const from = observed.currentRevision === undefined ? 'an unrecorded revision' : `revision ${observed.currentRevision}`
    notes.push(`update ${app} from ${from} to revision ${target.revision}: replace ${plural(o, 'instance')} with ${target.replicas} (${strategy})`)
  } else if (converge.waves.length > 0) {
    notes.push(`scale ${app} revision ${target.revision} from ${n} to ${plural(target.replicas, 'instance')}`)
  }
  // Counted over every wave listed (a drift wave first included), so the header and the list agree.
  if (waves.length > 1) notes.push(wavesNote(waves.length, converge.floor, converge.ceiling))

  return { app, action, fromRevision: observed.currentRevision, toRevision: target.revision, replicas: target.replicas, waves, notes }
}

/** The plan header's wave line; withCanary rewrites it when it adds the canary's wave. */
export const wavesNote = (n: number, floor: number, ceiling: number) => `${plural(n, 'wave')}; at least ${floor} serving and at most ${ceiling} containers at every step`
export const WAVES_NOTE = /^\d+ waves?; /

function checkTarget(target: RolloutTarget): void {
  for (const key of ['revision', 'replicas', 'maxSurge', 'maxUnavailable'] as const) {
    if (!Number.isInteger(target[key]) || target[key] < 0) {
      throw new ForrestError('BAD_INPUT', `${key} must be an integer >= 0, got ${target[key]}`)
    }
  }
}

interface Drift {
  wave?: Wave
  servingTarget: ObservedInstance[]
  servingOld: ObservedInstance[]
  notes: string[]
}

/** Everything that is not "running and registered" is settled first, in one wave. */
function planDrift(target: RolloutTarget, observed: ObservedState): Drift {
  const byOrdinal = sortBy(observed.app, 'asc')
  const serving = observed.instances.filter((i) => i.running && i.registered)
  const servingTarget = serving.filter((i) => i.revision === target.revision)
  const servingOld = serving.filter((i) => i.revision !== target.revision)
  const retires: RetireStep[] = []
  const adopts: AdoptStep[] = []
  const notes: string[] = []

  let stillNeeded = target.replicas - servingTarget.length
  for (const instance of [...observed.instances].sort(byOrdinal)) {
    if (instance.running && instance.registered) continue
    if (instance.containerId === undefined) {
      retires.push(retireStep({ ...instance, registered: true, running: false }, 'stale-key'))
      notes.push(`drift: ${instance.name} is registered but its container is gone: withdraw the key`)
    } else if (!instance.running) {
      retires.push(retireStep(instance, 'orphan'))
      notes.push(`drift: ${instance.name} exists but is not running: remove it`)
    } else if (instance.revision === target.revision && (target.templateHash === undefined || instance.template === target.templateHash) && stillNeeded > 0) {
      stillNeeded--
      adopts.push({ kind: 'adopt', instance: instance.name, revision: target.revision, ...(instance.host !== undefined ? { host: instance.host } : {}) })
      servingTarget.push({ ...instance, registered: true })
      notes.push(`drift: ${instance.name} runs revision ${target.revision} but is not registered: adopt it (health check, then announce)`)
    } else {
      retires.push(retireStep(instance, 'orphan'))
      notes.push(`drift: ${instance.name} is running but not registered and not needed: remove it`)
    }
  }
  // stop-first: clear broken things away before adopting; neither kind changes what is serving.
  const wave = retires.length + adopts.length > 0 ? { order: 'stop-first' as const, starts: adopts, retires } : undefined
  return { wave, servingTarget, servingOld, notes }
}

interface Converge {
  waves: Wave[]
  floor: number
  ceiling: number
}

function planConverge(target: RolloutTarget, app: string, servingTarget: ObservedInstance[], servingOld: ObservedInstance[], taken: string[]): Converge {
  const R = target.replicas
  let fresh = [...servingTarget].sort(sortBy(app, 'desc')) // scale-down retires the highest ordinals
  let old = [...servingOld].sort(byAge(app)) // oldest revision, lowest ordinal first
  // Across hosts: an instance of the target revision where its host has more than its share
  // (or on a host no longer eligible) is replaced like an old one, so the bounds still hold.
  let pickHost: (() => string) | undefined
  const surplusReason = new Set<string>()
  if (target.hosts) {
    const running = new Map<string, number>()
    for (const i of fresh) running.set(i.host ?? '', (running.get(i.host ?? '') ?? 0) + 1)
    const { desired, short } = desiredAvoiding(R, target.hosts, new Set(target.cordoned), running)
    if (short > 0) {
      throw new ForrestError('NO_ROOM', `no host may take a new instance of ${app}: ${short} of its ${R} replicas have nowhere to go (every host it may run on is cordoned, draining or not in its hosts list); nothing was changed`, {
        suggestion: 'Uncordon a host (forrest host uncordon NAME), or add one to the app\'s hosts list (or inventory), then run the command again.',
      })
    }
    const { keep, surplus } = splitByPlacement([...fresh].reverse(), desired) // lowest ordinals stay
    fresh = keep.reverse()
    for (const i of surplus) surplusReason.add(i.name)
    old = [...old, ...surplus.sort(sortBy(app, 'asc'))]
    pickHost = hostPicker(desired, keep)
  }
  const floor = Math.min(fresh.length + old.length, R - target.maxUnavailable)
  const ceiling = Math.max(fresh.length + old.length, R + target.maxSurge)
  const waves: Wave[] = []
  const oldReason = R === 0 ? 'scale-down' : 'replace'

  let n = fresh.length // instances of the target revision, all serving between waves
  const names = nameAllocator(app, taken) // every observed name stays taken, stale keys' too
  const startNew = (count: number): StartStep[] => {
    n += count
    return names.next(target.revision, count).map((instance) => ({ kind: 'start', instance, revision: target.revision, ...(pickHost ? { host: pickHost() } : {}) }))
  }
  // old[0, retired) are in a wave already. An index, not old.splice(0, count): on a large array
  // (100,000 instances) V8 copies the rest on every splice, once per wave.
  let retired = 0
  const oldLeft = () => old.length - retired
  const retireOld = (count: number): RetireStep[] => {
    const batch = old.slice(retired, retired + count)
    retired += batch.length
    return batch.map((i) => retireStep(i, surplusReason.has(i.name) && R > 0 ? 'rebalance' : oldReason))
  }

  while (oldLeft() > 0 || n !== R) {
    const serving = n + oldLeft()
    if (n >= R) {
      // Nothing left to start: retire the rest of the old and any extra new at once (serving stays >= R).
      const extra = fresh.splice(0, n - R).map((i) => retireStep(i, 'scale-down'))
      waves.push({ order: target.order, starts: [], retires: [...retireOld(oldLeft()), ...extra] })
      break
    }
    const room = Math.min(ceiling - serving, R - n)
    const retirable = Math.min(oldLeft(), serving - floor)
    if (room > 0 && (target.order === 'start-first' || retirable === 0)) {
      const starts = startNew(room)
      waves.push({ order: 'start-first', starts, retires: retireOld(Math.min(oldLeft(), n + oldLeft() - floor)) })
    } else if (retirable > 0) {
      // stop-first, or no room above the ceiling (maxSurge 0): make room, then start into it.
      const retires = retireOld(retirable)
      waves.push({ order: 'stop-first', starts: startNew(Math.min(ceiling - (serving - retirable), R - n)), retires })
    } else {
      throw new ForrestError('BAD_INPUT', `cannot roll ${app}: maxSurge and maxUnavailable are both 0 for ${R} replicas`, {
        suggestion: 'Set update.maxSurge: 1 (start-first) or update.maxUnavailable: 1.',
      })
    }
  }
  return { waves, floor, ceiling }
}

function retireStep(instance: ObservedInstance, reason: RetireStep['reason']): RetireStep {
  const step: RetireStep = { kind: 'retire', instance: instance.name, registered: instance.registered, running: instance.running, reason }
  if (instance.revision !== undefined) step.revision = instance.revision
  if (instance.prefix !== undefined) step.prefix = instance.prefix
  if (instance.host !== undefined) step.host = instance.host
  return step
}

function sortBy(app: string, direction: 'asc' | 'desc') {
  const sign = direction === 'asc' ? 1 : -1
  return (a: ObservedInstance, b: ObservedInstance): number => {
    const oa = parseInstanceName(app, a.name)?.ordinal ?? Number.MAX_SAFE_INTEGER
    const ob = parseInstanceName(app, b.name)?.ordinal ?? Number.MAX_SAFE_INTEGER
    return sign * (oa - ob) || a.name.localeCompare(b.name)
  }
}

function byAge(app: string) {
  const ordinal = sortBy(app, 'asc')
  return (a: ObservedInstance, b: ObservedInstance): number => (a.revision ?? -1) - (b.revision ?? -1) || ordinal(a, b)
}
