import { describeCanary, type CanaryAnalysis } from '../plan/canary.js'
import type { Context } from '../context.js'
import type { Outcome, RevisionRecord } from '../registry/records.js'
import { shortDigest } from '../spec/image-reference.js'
import { loadAppRecords } from '../engine/app-records.js'
import { plainTable } from '../report/status-format.js'

export interface HistoryEntry {
  revision: number
  current: boolean
  image: string
  imageId: string
  /** The registry digest every instance of the revision runs (images from a registry). */
  digest?: string
  createdAt: string
  author: string
  outcome: Outcome
  restoredFrom?: number
  replicas: number
  changes: string[]
  /** update.canary: the analysis of this revision's canary (figures and verdict). */
  canary?: CanaryAnalysis
}

export interface HistoryResult {
  app: string
  currentRevision: number
  /** Newest first. */
  revisions: HistoryEntry[]
}

/** Revision records as history entries, newest first. Pure. */
export function historyEntries(revisions: RevisionRecord[], currentRevision: number): HistoryEntry[] {
  return [...revisions]
    .sort((a, b) => b.revision - a.revision)
    .map((r) => ({
      revision: r.revision,
      current: r.revision === currentRevision,
      image: r.spec.image,
      imageId: r.imageId,
      ...(r.digest ? { digest: r.digest } : {}),
      createdAt: r.createdAt,
      author: r.author,
      outcome: r.outcome,
      ...(r.restoredFrom !== undefined ? { restoredFrom: r.restoredFrom } : {}),
      replicas: r.spec.replicas,
      changes: r.changes,
      ...(r.canary ? { canary: r.canary } : {}),
    }))
}

export async function history(ctx: Context, app: string): Promise<HistoryResult> {
  const { current, revisions } = await loadAppRecords(ctx, app)
  return { app, currentRevision: current.revision, revisions: historyEntries(revisions, current.revision) }
}

export function formatHistory(h: HistoryResult): string[] {
  const t = plainTable(['REVISION', 'IMAGE', 'WHEN', 'WHO', 'OUTCOME', 'WHAT CHANGED'])
  for (const e of h.revisions) {
    t.push([`${e.revision}${e.current ? ' (current)' : ''}`, e.digest ? `${e.image}\n@${shortDigest(e.digest)}` : e.image, e.createdAt, e.author, e.canary ? `${e.outcome}\ncanary ${e.canary.verdict}` : e.outcome, [...e.changes, ...(e.canary ? [describeCanary(e.canary)] : [])].join('\n')])
  }
  return [`${h.app}: ${h.revisions.length} revision${h.revisions.length === 1 ? '' : 's'}, newest first`, ...t.toString().split('\n')]
}
