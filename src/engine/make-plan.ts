import type { CurrentRecord } from '../registry/records.js'
import { withCanary } from '../plan/canary.js'
import { canaryShares } from '../plan/weights.js'
import { withBlueGreen } from '../plan/blue-green.js'
import { planRollout } from '../plan/plan-rollout.js'
import type { RolloutPlan } from '../plan/types.js'
import { resolveCanaryCount, resolveStrategy } from '../spec/strategy.js'
import type { CanarySpec } from '../spec/types.js'
import type { Decided } from './decide.js'
import { heldCanaryNote } from './held-canary.js'
import type { Observation } from './observe.js'
import { releaseNote, releaseRuns } from './release.js'
import { placeable } from './step-deps.js'
import type { RolloutRequest } from './types.js'

/** Deploy after `forrest scale`: the file's replica count wins, and the plan says so. Pure. */
export function scaleOverrideNote(current: CurrentRecord | undefined, replicas: number): string | undefined {
  if (!current?.scaled || current.replicas === replicas) return undefined
  const { at, by } = current.scaled
  return `replicas ${current.replicas} (set by forrest scale at ${at} by ${by}) → ${replicas} (from the file)`
}

/** Plan: the pure planner over (decided revision, hosts, what was observed), a canary wave for a deploy, and the notes. */
export function makePlan(req: RolloutRequest, decided: Decided, observed: Observation): { plan: RolloutPlan; canarySpec?: CanarySpec } {
  const { spec } = req
  const { revision, target } = decided.decision
  const planned = planRollout({ revision, templateHash: target.templateHash, replicas: req.replicas, hosts: placeable(req.hosts, spec), ...resolveStrategy({ ...spec, replicas: req.replicas }) }, observed.state)
  // A canary guards a deploy of a new revision; scale and rollback restore something known.
  const canarySpec = req.kind === 'deploy' ? spec.update.canary : undefined
  const shares = canaryShares(canarySpec)
  const blueGreen = req.kind === 'deploy' && spec.update.strategy === 'blue-green'
  const plan = canarySpec ? withCanary(planned, resolveCanaryCount(canarySpec.count, req.replicas), shares ? { shares } : {}) : blueGreen ? withBlueGreen(planned, observed.state.currentRevision) : planned
  plan.notes.push(...observed.notes)
  plan.notes.unshift(...(req.notes ?? []))
  const override = req.kind === 'deploy' ? scaleOverrideNote(decided.current, req.replicas) : undefined
  if (override) plan.notes.unshift(override)
  const { held } = decided
  const heldNote = held && heldCanaryNote(spec.name, req, held.revision, revision, observed.state.instances.filter((i) => i.revision === held.revision).map((i) => i.name))
  if (heldNote) plan.notes.unshift(heldNote)
  if (releaseRuns(req, decided.decision) && spec.release) plan.notes.unshift(releaseNote(spec.release.command))
  return { plan, canarySpec }
}
