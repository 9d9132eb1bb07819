/**
 * A rollout held after its canary (update.canary.pause): the revision is recorded as "waiting",
 * the current pointer stays on the stable revision, and old and canary instances both serve
 * until `forrest promote` or `forrest abort`, or a new deploy that retires the canary. Pure.
 */
import type { RevisionRecord } from '../registry/records.js'

/** The newest revision held after its canary and newer than the current one (what promote/abort act on). Pure. */
export function heldRevision(revisions: RevisionRecord[], current: number): RevisionRecord | undefined {
  return revisions.filter((r) => r.outcome === 'waiting' && r.revision > current).sort((a, b) => b.revision - a.revision)[0]
}

/** What a verb does to a rollout held after its canary, said first in its plan. Pure. */
export function heldCanaryNote(app: string, req: { kind: string }, held: number, target: number, canaries: string[]): string {
  const n = canaries.length
  const them = `${n === 1 ? 'its canary instance' : `its ${n} canary instances`}${n ? ` (${canaries.join(', ')})` : ''}`
  if (req.kind === 'abort') return `abort ${app}: return to revision ${target} (the stable one) from revision ${held}, held after its canary: retire ${them}`
  if (req.kind === 'promote') return `promote ${app}: continue revision ${held}, held after its canary, to every instance`
  if (req.kind === 'deploy') return `revision ${held} is held after its canary: this deploy retires ${them} and rolls to revision ${target} instead; to continue revision ${held}, run forrest promote ${app}; to drop it, forrest abort ${app}`
  // scale and rollback converge to their own target too, so the canary goes.
  return `revision ${held} is held after its canary: this ${req.kind} retires ${them}; to continue revision ${held} instead, run forrest promote ${app}`
}

