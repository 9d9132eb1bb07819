import type { RevisionRecord } from '../registry/records.js'
import { parseImageReference, pinnedReference } from '../spec/image-reference.js'
import { resolvedSpecOf } from './app-records.js'
import type { ResolvedEnv } from './secrets.js'
import type { InstanceTemplate } from './steps.js'

export function templateOf(rec: Pick<RevisionRecord, 'revision' | 'spec' | 'imageId' | 'digest' | 'templateHash'>, env: ResolvedEnv): InstanceTemplate {
  const s = rec.spec
  return { revision: rec.revision, image: revisionImage(rec), templateHash: rec.templateHash, port: s.port!, env: env.values, command: s.command, labels: s.labels, health: s.health }
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
