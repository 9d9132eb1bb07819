/**
 * Walk a plan step by step, in the order the executor runs it (start-first wave: all starts,
 * then all retires; stop-first: the reverse), and check the rollout's promises:
 *   serving    >= min(serving at the start, replicas - maxUnavailable)
 *   containers <= max(containers at the start, replicas + maxSurge)
 * and that it ends with exactly `replicas` serving instances of the target revision, nothing else.
 * Steps of a wave run in parallel, but within each half (starts or retires) the counts move one
 * way only, so checking after every step covers every interleaving.
 */
import type { ObservedInstance, ObservedState, PlanStep, RolloutPlan, RolloutTarget } from './types.js'

export interface SimulationPoint {
  wave: number
  step: string
  serving: number
  containers: number
}

export interface SimulationResult {
  /** The instances after the last step. */
  instances: ObservedInstance[]
  trace: SimulationPoint[]
  /** Broken promises and impossible steps; empty for a good plan. */
  violations: string[]
  floor: number
  ceiling: number
}

const isServing = (i: ObservedInstance) => i.running && i.registered

export function simulatePlan(plan: RolloutPlan, observed: ObservedState, strategy: Pick<RolloutTarget, 'maxSurge' | 'maxUnavailable'>): SimulationResult {
  const state = new Map(observed.instances.map((i) => [i.name, { ...i }]))
  // Running counts, moved by each step's own instance: a step changes only that one entry, so
  // recounting every instance after every step (O(steps × instances)) is not needed.
  const now = { serving: 0, containers: 0 }
  const tally = (i: ObservedInstance | undefined, sign: 1 | -1) => {
    if (i && isServing(i)) now.serving += sign
    if (i?.containerId !== undefined) now.containers += sign
  }
  for (const i of state.values()) tally(i, 1)
  const floor = Math.min(now.serving, plan.replicas - strategy.maxUnavailable)
  const ceiling = Math.max(now.containers, plan.replicas + strategy.maxSurge)
  const trace: SimulationPoint[] = []
  const violations: string[] = []

  plan.waves.forEach((wave, w) => {
    const steps: PlanStep[] = wave.order === 'start-first' ? [...wave.starts, ...wave.retires] : [...wave.retires, ...wave.starts]
    for (const step of steps) {
      tally(state.get(step.instance), -1) // before apply(): adopt changes the entry in place
      const problem = apply(state, step)
      tally(state.get(step.instance), 1)
      const label = `${step.kind} ${step.instance}`
      if (problem) violations.push(`wave ${w + 1}: ${label}: ${problem}`)
      trace.push({ wave: w + 1, step: label, ...now })
      if (now.serving < floor) violations.push(`wave ${w + 1}: after ${label}: ${now.serving} serving < floor ${floor}`)
      if (now.containers > ceiling) violations.push(`wave ${w + 1}: after ${label}: ${now.containers} containers > ceiling ${ceiling}`)
    }
  })

  const instances = [...state.values()]
  const good = instances.filter((i) => isServing(i) && i.revision === plan.toRevision)
  if (good.length !== plan.replicas) violations.push(`end: ${good.length} serving instances of revision ${plan.toRevision}, expected ${plan.replicas}`)
  for (const i of instances) {
    if (!isServing(i) || i.revision !== plan.toRevision) violations.push(`end: ${i.name} is left over (revision ${i.revision}, running ${i.running}, registered ${i.registered})`)
  }
  return { instances, trace, violations, floor, ceiling }
}

/** Apply one step; returns what is wrong with it, if anything. */
function apply(state: Map<string, ObservedInstance>, step: PlanStep): string | undefined {
  const current = state.get(step.instance)
  switch (step.kind) {
    case 'start':
      if (current) return 'name already in use'
      state.set(step.instance, { name: step.instance, containerId: `sim-${step.instance}`, revision: step.revision, running: true, registered: true })
      return undefined
    case 'adopt':
      if (!current) return 'no such instance'
      if (!current.running || current.registered || current.revision !== step.revision) return 'only a running, unregistered instance of the target revision can be adopted'
      current.registered = true
      return undefined
    case 'retire':
      state.delete(step.instance)
      if (!current) return 'no such instance'
      if (current.registered !== step.registered || current.running !== step.running) return `step says registered=${step.registered} running=${step.running}, observed ${current.registered}/${current.running}`
      return undefined
  }
}
