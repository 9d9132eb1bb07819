import { ForrestError } from '../errors.js'
import { heldRevision } from './held-canary.js'
import type { RevisionRecord } from '../registry/records.js'
import type { RevisionDecision } from './revision.js'
import type { CurrentRecord, Records } from '../registry/records.js'
import { decideRevision } from './revision.js'
import type { RolloutRequest } from './types.js'

/** promote/abort: the existing revision to converge to, if its held rollout is still waiting. */
export function resumeDecision(app: string, resume: { revision: number; waiting: number }, revisions: RevisionRecord[], current?: number): RevisionDecision {
  const target = revisions.find((r) => r.revision === resume.revision)
  const waiting = revisions.find((r) => r.revision === resume.waiting)
  if (!target || waiting?.outcome !== 'waiting') {
    throw new ForrestError('REVISION_CHANGED', `${app} revision ${resume.waiting} is no longer waiting for promotion (${waiting?.outcome ?? 'no record'})`, {
      suggestion: `Check \`forrest history ${app}\`.`,
    })
  }
  const currentRec = revisions.find((r) => r.revision === current)
  return { revision: target.revision, reuse: true, target, current: currentRec, changes: target.revision === current ? [`abort revision ${resume.waiting}`] : target.changes }
}

/** rollback onto the revision blue/green kept at weight 0: that revision itself, not a new one (nothing starts). */
export function standbyDecision(app: string, standby: number, revisions: RevisionRecord[], current?: number): RevisionDecision {
  const target = revisions.find((r) => r.revision === standby)
  if (!target) throw new ForrestError('REVISION_NOT_FOUND', `${app} has no revision ${standby} to switch back to`, { suggestion: `Check \`forrest history ${app}\`.` })
  const currentRec = revisions.find((r) => r.revision === current)
  return { revision: target.revision, reuse: true, target, current: currentRec, changes: [`switch back to revision ${standby}, kept running at weight 0 by blue/green`] }
}

/** The decide phase's output: the app's current record and revisions, and the revision to converge to. */
export interface Decided {
  current?: CurrentRecord
  revisions: RevisionRecord[]
  /** The current revision's record. */
  currentRecord?: RevisionRecord
  decision: RevisionDecision
  /** A revision held after its canary, newer than the current one (what promote/abort act on; anything else retires it). */
  held?: RevisionRecord
}

/** Decide (under the lock): which revision the request converges to, checked against what it was computed from. */
export async function decide(records: Records, req: RolloutRequest): Promise<Decided> {
  const app = req.spec.name
  const [current, revisions] = await Promise.all([records.current(app), records.revisions(app)])
  if (req.expectRevision !== undefined && current?.revision !== req.expectRevision) {
    throw new ForrestError('REVISION_CHANGED', `${app} changed while waiting: current revision is now ${current?.revision ?? 'none'}, not ${req.expectRevision}`, {
      suggestion: `Check \`forrest history ${app}\`, then run the command again.`,
    })
  }
  const decision = req.resume
    ? resumeDecision(app, req.resume, revisions, current?.revision)
    : req.standby !== undefined
      ? standbyDecision(app, req.standby, revisions, current?.revision)
      : decideRevision({ ...req, kind: req.kind === 'promote' || req.kind === 'abort' ? 'deploy' : req.kind === 'drain' ? 'scale' : req.kind, secretFingerprints: req.env.fingerprints }, current, revisions, new Date())
  return { current, revisions, currentRecord: revisions.find((r) => r.revision === current?.revision), decision, held: heldRevision(revisions, current?.revision ?? 0) }
}
