import type { CurrentRecord } from '../registry/records.js'

/** Deploy after `forrest scale`: the file's replica count wins, and the plan says so. Pure. */
export function scaleOverrideNote(current: CurrentRecord | undefined, replicas: number): string | undefined {
  if (!current?.scaled || current.replicas === replicas) return undefined
  const { at, by } = current.scaled
  return `replicas ${current.replicas} (set by forrest scale at ${at} by ${by}) → ${replicas} (from the file)`
}
