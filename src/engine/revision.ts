import type { CurrentRecord, RevisionRecord } from '../registry/records.js'
import { diffSpecs as diffSpecsAsShown } from '../spec/diff.js'
import { envForHash } from '../spec/secrets.js'
import { specTemplateHash } from '../spec/template-hash.js'
import type { DeploymentSpec } from '../spec/types.js'

export interface RevisionDecision {
  /** The revision to converge to. */
  revision: number
  /** True when the request runs what the current revision already runs (scale, no-op, drift repair). */
  reuse: boolean
  /** The record of the target revision: the current one when reused, else a new in-progress one. */
  target: RevisionRecord
  current?: RevisionRecord
  /** The current revision as it runs now (its spec at the current replica count). */
  currentSpec?: DeploymentSpec
  /** What changes against what runs now. */
  changes: string[]
}

/**
 * Which revision a request converges to. Pure. The same template (image id, command, env,
 * port, labels, health) as the current revision reuses it; anything else, and every rollback
 * (recorded as a new revision, as `kubectl rollout undo` does), makes revision max + 1.
 */
export function decideRevision(
  req: { kind: 'deploy' | 'scale' | 'rollback'; spec: DeploymentSpec; imageId: string; digest?: string; replicas: number; restoredFrom?: number; actor: string; secretFingerprints: Record<string, string> },
  current: CurrentRecord | undefined,
  revisions: RevisionRecord[],
  now: Date,
): RevisionDecision {
  const currentRec = revisions.find((r) => r.revision === current?.revision)
  const currentSpec = currentRec && { ...currentRec.spec, replicas: current?.replicas ?? currentRec.spec.replicas }
  const hash = specTemplateHash(req.spec, req.imageId, req.secretFingerprints)
  const next = { ...req.spec, replicas: req.replicas }
  // Compared as they define a revision: plain values, and secrets by fingerprint (names only are shown).
  const shown = (spec: DeploymentSpec | undefined, fps: Record<string, string> = {}) => spec && { ...spec, env: envForHash(spec, fps) }
  const diffSpecs = (prev: DeploymentSpec | undefined, nxt: DeploymentSpec, prevId?: string, nextId?: string) =>
    diffSpecsAsShown(shown(prev, currentRec?.secretFingerprints), shown(nxt, req.secretFingerprints)!, prevId, nextId)
  if (req.kind !== 'rollback' && currentRec?.templateHash === hash) {
    return { revision: currentRec.revision, reuse: true, target: currentRec, current: currentRec, currentSpec, changes: diffSpecs(currentSpec, next) }
  }
  const revision = Math.max(0, current?.revision ?? 0, ...revisions.map((r) => r.revision)) + 1
  const diff = diffSpecs(currentSpec, req.spec, currentRec?.imageId, req.imageId)
  const changes = req.restoredFrom ? [`rollback to revision ${req.restoredFrom}`, ...diff] : diff
  const target: RevisionRecord = {
    revision,
    spec: next,
    imageId: req.imageId,
    ...(req.digest ? { digest: req.digest } : {}),
    templateHash: hash,
    createdAt: now.toISOString(),
    author: req.actor,
    outcome: 'in-progress',
    restoredFrom: req.restoredFrom,
    ...(Object.keys(req.secretFingerprints).length ? { secretFingerprints: req.secretFingerprints } : {}),
    changes,
  }
  return { revision, reuse: false, target, current: currentRec, currentSpec, changes }
}
