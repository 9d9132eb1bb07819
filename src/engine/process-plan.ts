import type { HostState } from '../hosts/fleet.js'
import { withBlueGreen } from '../plan/blue-green.js'
import { withCanary } from '../plan/canary.js'
import { planRollout } from '../plan/plan-rollout.js'
import { webObserved, withWorkers, type WorkerTarget } from '../plan/processes.js'
import type { ObservedState, RolloutPlan } from '../plan/types.js'
import { resolveStrategy } from '../spec/strategy.js'
import type { DeploymentSpec } from '../spec/types.js'
import type { HostAvailabilityRecord } from '../registry/host-availability.js'
import { placedOn, placementOf } from './host-placement.js'
import type { ResolvedSpec } from './types.js'

/**
 * The plan of a whole app: web with the planner as always (and its canary wave, on a deploy),
 * then each worker process against its own instances (plan/processes.ts). For an app of one
 * process this is exactly planRollout's plan.
 */
export function planApp(
  spec: ResolvedSpec,
  x: { revision: number; templateHash?: string; replicas: number; hosts: HostState[]; availability?: ReadonlyMap<string, HostAvailabilityRecord>; observed: ObservedState; canaryCount?: number; shares?: number[]; blueGreen?: boolean },
): RolloutPlan {
  const { revision, templateHash, replicas } = x
  // Each process places by its own placement, less cordoned, draining and departed hosts (host-placement.ts).
  const where = placementOf(x.hosts, spec, x.availability)
  const planned = planRollout({ revision, templateHash, replicas, ...placedOn(where), ...resolveStrategy({ ...spec, replicas }) }, webObserved(x.observed))
  const web = { ...planned, notes: [...planned.notes, ...where.notes] }
  // A canary (by count, or by share of traffic through weights) or blue/green shapes web's plan; workers roll.
  const withCanaryWave = x.canaryCount !== undefined ? withCanary(web, x.canaryCount, x.shares ? { shares: x.shares } : {}) : x.blueGreen ? withBlueGreen(web, x.observed.currentRevision) : web
  const workers: WorkerTarget[] = Object.entries(spec.processes ?? {}).map(([process, p]) => ({
    process,
    revision,
    templateHash,
    replicas: p.replicas,
    ...placedOn(placementOf(x.hosts, { ...spec, placement: p.placement }, x.availability)),
    ...resolveStrategy(p),
    stopGracePeriod: p.update.stopGracePeriod,
  }))
  return withWorkers(withCanaryWave, workers, x.observed, { revision, templateHash, ...resolveStrategy({ ...spec, replicas: 0 }), stopGracePeriod: spec.update.stopGracePeriod })
}

/** The spec with the workers' counts a `forrest scale` recorded (processes the spec no longer has are ignored). */
export function withWorkerCounts<S extends Pick<DeploymentSpec, 'processes'>>(spec: S, counts: Record<string, number> | undefined): S {
  if (!spec.processes || !counts) return spec
  const processes = Object.fromEntries(Object.entries(spec.processes).map(([name, p]) => [name, counts[name] === undefined ? p : { ...p, replicas: counts[name]! }]))
  return { ...spec, processes }
}

/** The workers' counts of a spec, for the current record (absent for an app of one process). */
export const workerCounts = (spec: Pick<DeploymentSpec, 'processes'>): Record<string, number> | undefined =>
  spec.processes && Object.fromEntries(Object.entries(spec.processes).map(([name, p]) => [name, p.replicas]))
