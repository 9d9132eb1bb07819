import type { RevisionRecord } from '../registry/records.js'
import { parseImageReference, pinnedReference } from '../spec/image-reference.js'
import { resolvedSpecOf } from './app-records.js'
import { resolveRecordedEnv, type ResolvedEnv } from './secrets.js'
import type { InstanceTemplate } from './steps.js'
import type { RevisionDecision } from './revision.js'

export function templateOf(rec: Pick<RevisionRecord, 'revision' | 'spec' | 'imageId' | 'digest' | 'templateHash'>, env: ResolvedEnv): InstanceTemplate {
  const s = rec.spec
  const processes = s.processes && Object.fromEntries(Object.entries(s.processes).map(([name, p]) => [name, { command: p.command, health: p.health, settings: p.container, stopGracePeriod: p.update.stopGracePeriod }]))
  return { revision: rec.revision, image: revisionImage(rec), templateHash: rec.templateHash, port: s.port!, env: env.values, command: s.command, labels: s.labels, health: s.health, settings: s.container, ...(processes ? { processes } : {}) }
}

/** What a revision's instances run: `name@digest` when its image came from a registry, else the image ID. */
export function revisionImage(rec: Pick<RevisionRecord, 'spec' | 'imageId' | 'digest'>): string {
  const ref = rec.digest ? parseImageReference(rec.spec.image) : undefined
  return ref && rec.digest ? pinnedReference(ref, rec.digest) : rec.imageId
}

export const memo = <T>(fn: () => T): (() => T) => {
  let value: { v: T } | undefined
  return () => (value ??= { v: fn() }).v
}

/** A recorded revision with its spec resolved (older records lack newer fields). */
export const resolvedRecord = (rec: RevisionRecord): RevisionRecord => ({ ...rec, spec: resolvedSpecOf(rec) })

/**
 * The templates a rollout may start: the target revision's (with the request's env), and the
 * current one's, needed only to roll back to it, so its secrets are read only then.
 */
export function revisionTemplates(decision: RevisionDecision, env: ResolvedEnv): Map<number, () => InstanceTemplate> {
  const { revision, target, current } = decision
  const templates = new Map<number, () => InstanceTemplate>([[revision, () => templateOf(target, env)]])
  if (current && current.revision !== revision) templates.set(current.revision, memo(() => templateOf(current, resolveRecordedEnv(resolvedRecord(current), process.env))))
  return templates
}
