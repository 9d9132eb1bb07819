/**
 * Drives a flow (src/plan/schedule.ts) at run time: each step's task waits at its gate until
 * runnable() lets it begin; every step that ends opens the gates it allows. Once the rollout
 * stops (a failed step, an interruption), the gates still closed open with "no": those steps
 * never begin, the running ones finish, as in a wave.
 */
import { ForrestError } from '../errors.js'
import { runnable, type Flow, type StepState } from '../plan/schedule.js'

export interface FlowGate {
  /** Resolves true when step i may begin, false when the flow stopped before it could. */
  turn(i: number): Promise<boolean>
  /** Step i ended (done, or failed and undone). */
  finish(i: number): void
}

export function flowGate(flow: Flow, stopped: () => boolean, onStuck: (err: ForrestError) => void): FlowGate {
  const states: StepState[] = flow.steps.map(() => 'pending')
  const open: Array<(go: boolean) => void> = []
  const gates = flow.steps.map((_, i) => new Promise<boolean>((resolve) => (open[i] = resolve)))
  const closeAll = () => states.forEach((st, i) => st === 'pending' && open[i]!(false))
  const pump = () => {
    if (stopped()) return closeAll()
    const go = runnable(flow, states)
    for (const i of go) {
      states[i] = 'running'
      open[i]!(true)
    }
    if (go.length === 0 && !states.includes('running') && states.includes('pending')) {
      // exploreFlow proves this cannot happen for a plan from planRollout; never hang on it.
      onStuck(new ForrestError('INTERNAL', `the schedule is stuck with ${states.filter((s) => s === 'pending').length} steps pending and none allowed by the bounds`))
      closeAll()
    }
  }
  pump()
  return {
    turn: (i) => gates[i]!,
    finish(i) {
      states[i] = 'done'
      pump()
    },
  }
}
