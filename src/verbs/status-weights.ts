/**
 * Weights in status (#28): an instance's weight as the gateways' HAProxies report it (else
 * forrest's own weight record), and blue/green's standby colour. Pure.
 */
import { standbyExpired, type StandbyRecord } from '../plan/keep-old.js'

export interface Weights {
  /** Its traffic weight in HAProxy (0-256; 0: checked, no traffic), as the gateways report it, when they all agree. */
  weight?: number
  /** Gateway id → weight, when the gateways' HAProxies disagree (a weight change under way, or one a gateway missed). */
  weightByGateway?: Record<string, number>
  /** forrest's own weight record for it (/forrest/weights/...), when no gateway reports a weight (none live, or none acked it). */
  recordedWeight?: number
}

/** A gateway's read-back of HAProxy's weights: instance name → weight. */
export interface GatewayWeights {
  id: string
  weights?: Record<string, number>
}

/** Blue/green: the colour kept at weight 0 beside the serving one (forrest rollback switches back to it). */
export interface Standby {
  revision: number
  instances: string[]
  until?: string
  expired?: boolean
  weightFrom?: 'records'
}

type WeighedInstance = Weights & { name: string; revision?: number; registered: boolean; state: string }

/** Blue/green: the other colour, running and registered at weight 0 (checked, no traffic) beside the serving revision. */
export function standbyOf(instances: readonly WeighedInstance[], current: number, recorded?: StandbyRecord, now = new Date()): { standby?: Standby } {
  const standing = instances.filter((i) => i.revision !== current && effectiveWeight(i) === 0 && i.registered && i.state === 'running')
  const revisions = [...new Set(standing.map((i) => i.revision))]
  if (standing.length === 0 || revisions.length !== 1) return {}
  // Its deadline (update.blueGreen.keepOld), when the current record has one for this revision.
  const until = recorded && recorded.revision === revisions[0] ? { until: recorded.until, expired: standbyExpired(recorded, now) } : {}
  // No gateway reports its weight: known from forrest's weight records only (nothing may apply them).
  const fromRecords = standing.every((i) => i.weight === undefined) ? { weightFrom: 'records' as const } : {}
  return { standby: { revision: revisions[0]!, instances: standing.map((i) => i.name), ...until, ...fromRecords } }
}

/** Its weight as the gateways report it; when none does, forrest's own weight record (as recordedWeight). */
export function weightOrRecorded(name: string, gateways: readonly GatewayWeights[], recorded?: ReadonlyMap<string, number>): Weights {
  const seen = weightOf(name, gateways)
  const own = recorded?.get(name)
  return Object.keys(seen).length === 0 && own !== undefined ? { recordedWeight: own } : seen
}

/** The weight that decides whether an instance stands by: the gateways' read-back, else forrest's record. */
export const effectiveWeight = (i: Weights) => i.weight ?? i.recordedWeight

/** An instance's weight as the gateways' HAProxies report it: one number when they agree, per gateway when not. */
export function weightOf(name: string, gateways: readonly GatewayWeights[]): Omit<Weights, 'recordedWeight'> {
  const seen = gateways.filter((g) => g.weights?.[name] !== undefined).map((g) => [g.id, g.weights![name]!] as const)
  if (seen.length === 0) return {}
  if (seen.every(([, w]) => w === seen[0]![1])) return { weight: seen[0]![1] }
  return { weightByGateway: Object.fromEntries(seen) }
}
