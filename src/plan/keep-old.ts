/**
 * Blue/green's keepOld (update.blueGreen.keepOld): how long the colour a switch replaced keeps
 * running at weight 0 for `forrest rollback`. forrest runs no daemon that could stop it on time,
 * so the deadline is recorded with the current record (`standby.until`) and acted on by the next
 * rollout of the app or by `forrest tidy` (a cron job or systemd timer). Pure.
 */
import type { ObservedState } from './types.js'

/** The colour kept at weight 0 and until when (an ISO time), as recorded in the app's current record. */
export interface StandbyRecord {
  revision: number
  until: string
}

/** Whether the standby's time is up at `now` (its deadline itself counts as passed). */
export function standbyExpired(standby: Pick<StandbyRecord, 'until'>, now: Date): boolean {
  return Date.parse(standby.until) <= now.getTime()
}

/**
 * Whether a rollout keeps the standby out of its plan: it is recorded, its time is not up, and the
 * rollout converges to the revision that serves (a scale, a repair). A deploy of a new revision
 * replaces it, a rollback switches to it or past it, and a host drain moves everything off its
 * host (a standby cannot move without starting): those plan it as any other old instance.
 */
export function keepsStandby(x: { kind: string; standby?: StandbyRecord; revision: number; currentRevision?: number; now: Date }): boolean {
  if (!x.standby || standbyExpired(x.standby, x.now)) return false
  return x.kind !== 'drain' && x.kind !== 'rollback' && x.revision === x.currentRevision && x.standby.revision !== x.revision
}

/** The observed state without the standby's instances (their names stay taken), for a rollout that keeps it. */
export function withoutStandby(observed: ObservedState, revision: number): { state: ObservedState; kept: string[] } {
  const kept = observed.instances.filter((i) => i.revision === revision && (i.process ?? 'web') === 'web').map((i) => i.name)
  const instances = observed.instances.filter((i) => !kept.includes(i.name))
  return { state: { ...observed, instances, reserved: [...(observed.reserved ?? []), ...kept] }, kept }
}

/**
 * The standby the current record carries after a successful rollout. A blue/green switch that
 * kept the replaced revision starts a new deadline (now + keepOld); a rollout that kept the
 * standby out of its plan carries it on unchanged; anything else (it was retired, switched back
 * to, or replaced) drops it.
 */
export function standbyAfter(x: { switched: boolean; keptRevision?: number; keepOldMs: number; carried?: StandbyRecord; now: Date }): StandbyRecord | undefined {
  if (x.switched) return x.keptRevision !== undefined && x.keepOldMs > 0 ? { revision: x.keptRevision, until: new Date(x.now.getTime() + x.keepOldMs).toISOString() } : undefined
  return x.carried
}

/** "until 15:42 UTC (in 9m)" or "expired at 15:42 UTC (3m ago)", for status. */
export function describeStandbyDeadline(until: string, now: Date): string {
  const t = new Date(until)
  const hhmm = `${t.toISOString().slice(11, 16)} UTC`
  const ms = t.getTime() - now.getTime()
  return ms > 0 ? `until ${hhmm} (in ${roughly(ms)})` : `expired at ${hhmm} (${roughly(-ms)} ago)`
}

function roughly(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.round(s / 60)
  if (m < 60) return `${m}m`
  const h = Math.floor(m / 60)
  return m % 60 ? `${h}h${m % 60}m` : `${h}h`
}
