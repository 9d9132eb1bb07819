import type { CurrentRecord } from '../registry/records.js'
import { canaryShares } from '../plan/weights.js'
import type { RolloutPlan } from '../plan/types.js'
import { resolveCanaryCount } from '../spec/strategy.js'
import type { CanarySpec } from '../spec/types.js'
import type { Decided } from './decide.js'
import { heldCanaryNote } from './held-canary.js'
import type { Observation } from './observe.js'
import { releaseNote, releaseRuns } from './release.js'
import { planApp } from './process-plan.js'
import type { ResolvedSpec, RolloutRequest } from './types.js'

/** Deploy after `forrest scale`: the file's replica count wins, and the plan says so. Pure. */
export function scaleOverrideNote(current: CurrentRecord | undefined, replicas: number): string | undefined {
  if (!current?.scaled || current.replicas === replicas) return undefined
  const { at, by } = current.scaled
  return `replicas ${current.replicas} (set by forrest scale at ${at} by ${by}) → ${replicas} (from the file)`
}

/** The same for each worker process whose count `forrest scale` changed. Pure. */
export function workerScaleOverrideNotes(current: CurrentRecord | undefined, spec: Pick<ResolvedSpec, 'processes'>): string[] {
  if (!current?.scaled || !current.processes) return []
  const { at, by } = current.scaled
  return Object.entries(spec.processes ?? {})
    .filter(([p, w]) => current.processes![p] !== undefined && current.processes![p] !== w.replicas)
    .map(([p, w]) => `${p}: replicas ${current.processes![p]} (set by forrest scale at ${at} by ${by}) → ${w.replicas} (from the file)`)
}

/** Plan: the pure planner over (decided revision, hosts, what was observed), a canary wave for a deploy, and the notes. */
export function makePlan(req: RolloutRequest, decided: Decided, observed: Observation): { plan: RolloutPlan; canarySpec?: CanarySpec } {
  const { spec } = req
  const { revision, target } = decided.decision
  // A canary guards a deploy of a new revision; scale and rollback restore something known.
  const canarySpec = req.kind === 'deploy' ? spec.update.canary : undefined
  const canaryCount = canarySpec ? resolveCanaryCount(canarySpec.count, req.replicas) : undefined
  const shares = canaryShares(canarySpec)
  const blueGreen = req.kind === 'deploy' && spec.update.strategy === 'blue-green'
  const plan = planApp(spec, { revision, templateHash: target.templateHash, replicas: req.replicas, hosts: req.hosts, availability: req.availability, observed: observed.state, ...(canaryCount !== undefined ? { canaryCount, ...(shares ? { shares } : {}) } : {}), blueGreen })
  plan.notes.push(...observed.notes)
  plan.notes.unshift(...(req.notes ?? []))
  const override = req.kind === 'deploy' ? scaleOverrideNote(decided.current, req.replicas) : undefined
  if (override) plan.notes.unshift(override)
  if (req.kind === 'deploy') plan.notes.unshift(...workerScaleOverrideNotes(decided.current, spec))
  const { held } = decided
  const heldNote = held && heldCanaryNote(spec.name, req, held.revision, revision, observed.state.instances.filter((i) => i.revision === held.revision).map((i) => i.name))
  if (heldNote) plan.notes.unshift(heldNote)
  if (releaseRuns(req, decided.decision) && spec.release) plan.notes.unshift(releaseNote(spec.release.command))
  return { plan, canarySpec }
}
