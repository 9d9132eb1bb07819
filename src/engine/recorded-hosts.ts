import type { Records, RevisionRecord } from '../registry/records.js'
import type { RolloutRequest } from './types.js'

/**
 * Hosts and placement do not define a revision (a deploy that changes only them rolls the same
 * revision), yet scale, rollback, drain, status and the next deploy's departed-host check read
 * them from the revision's record: a deploy records the file's on it, so they are the list last
 * deployed, not the one the revision was first made with. Written under the deploy's lock.
 */
export async function recordPlacement(records: Records, req: RolloutRequest, rec: RevisionRecord, current?: number): Promise<void> {
  if (req.kind !== 'deploy') return
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
  if (same(rec.spec.hosts, req.spec.hosts) && same(rec.spec.placement, req.spec.placement)) return
  const latest = (await records.revision(req.spec.name, rec.revision)) ?? rec
  const { hosts: _h, placement: _p, ...rest } = latest.spec
  await records.putRevision(req.spec.name, { ...latest, spec: { ...rest, ...(req.spec.hosts ? { hosts: req.spec.hosts } : {}), ...(req.spec.placement ? { placement: req.spec.placement } : {}) } }, current)
}
