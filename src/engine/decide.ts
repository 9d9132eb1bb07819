import { ForrestError } from '../errors.js'
import type { RevisionRecord } from '../registry/records.js'
import type { RevisionDecision } from './revision.js'

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
