/**
 * Steps as soon as the bounds allow (#30), instead of waves as barriers. Pure.
 *
 * A run of ordinary waves (not the drift wave, not the canary's) becomes one flow: its steps,
 * in plan order, each started as soon as starting it keeps every bound, per group (a step's
 * `process`, else 'web') and per group and host:
 *   serving    >= floor    (a retire takes its instance out of service when it begins)
 *   containers <= ceiling  (a start adds its container when it begins; a retire frees its slot when it
 *                           begins, or with order stop-first once its container is stopped)
 * A start counts as serving only once it is done (healthy, announced, acknowledged).
 * The bounds are what the waves themselves reach at worst (the simulator proves the waves keep
 * the planner's floor and ceiling), so a flow never goes past what its waves would, per host
 * too; it only stops waiting for a wave's slowest step. simulate-schedule.ts checks every
 * order in which the steps can finish.
 */
import type { ObservedInstance, PlanStep, Wave } from './types.js'

export type StepState = 'pending' | 'running' | 'done'

export interface Counts {
  serving: number
  containers: number
}

export interface Bounds {
  floor: number
  ceiling: number
}

export interface Flow {
  /** The flow's steps, in plan order. */
  steps: PlanStep[]
  /** The order of the wave each step came from (a stop-first retire's stop is waited for). */
  orders: Array<Wave['order']>
  /** Indexes of the plan's waves the flow runs. */
  waves: number[]
  /** Per key (group, group@host): counts when the flow begins, and the bounds kept. */
  counts: Map<string, Counts>
  bounds: Map<string, Bounds>
  /** Per retire step: whether its instance serves and has a container when the flow begins. */
  retiring: Map<string, { serving: boolean; container: boolean }>
}

/** A step's group: its process (#25 adds `process` to steps), else the web group. */
export const groupOf = (s: PlanStep): string => s.process ?? 'web'
const keysOf = (s: PlanStep): string[] => {
  const g = groupOf(s)
  return s.host === undefined ? [g] : [g, `${g}@${s.host}`]
}
const keyOfInstance = (i: ObservedInstance & { process?: string }) => {
  const g = i.process ?? 'web'
  return i.host === undefined ? [g] : [g, `${g}@${i.host}`]
}

/** In service: running and announced, or, for a worker (no key to be registered by), running (plan/processes.ts). */
const inService = (i: ObservedInstance) => i.running && (i.registered || i.process !== undefined)
const groupOfWave = (w: Wave): string | undefined => {
  const first = w.starts[0] ?? w.retires[0]
  return first && groupOf(first)
}

/**
 * A wave the flow may run: not judged (canary), not a blue/green switch, no weighted start (its
 * traffic share is the point), not the drift repair (adopts, orphans, stale keys).
 */
export const flowable = (w: Wave): boolean =>
  !w.canary && !w.switch && w.starts.every((s) => s.kind === 'start' && s.weight === undefined) && w.retires.every((r) => r.reason !== 'orphan' && r.reason !== 'stale-key')

/**
 * The plan as segments: barrier waves (run as waves) and flows (runs of flowable waves of one
 * process: web's waves come first and end before any worker's begin, as plan/processes.ts orders them).
 */
export function segments(waves: Wave[]): Array<{ kind: 'wave'; wave: number } | { kind: 'flow'; waves: number[] }> {
  const out: Array<{ kind: 'wave'; wave: number } | { kind: 'flow'; waves: number[] }> = []
  waves.forEach((w, i) => {
    const last = out.at(-1)
    if (!flowable(w)) out.push({ kind: 'wave', wave: i })
    else if (last?.kind === 'flow' && groupOfWave(waves[last.waves[0]!]!) === groupOfWave(w)) last.waves.push(i)
    else out.push({ kind: 'flow', waves: [i] })
  })
  return out
}

/** The instances after some waves ran (what a flow starts from). */
export function replay(instances: ObservedInstance[], waves: Wave[]): ObservedInstance[] {
  const state = new Map(instances.map((i) => [i.name, { ...i }]))
  for (const w of waves) {
    for (const s of w.order === 'start-first' ? [...w.starts, ...w.retires] : [...w.retires, ...w.starts]) {
      if (s.kind === 'retire') state.delete(s.instance)
      else if (s.kind === 'adopt') state.set(s.instance, { ...state.get(s.instance)!, registered: true })
      else state.set(s.instance, { name: s.instance, containerId: `new-${s.instance}`, revision: s.revision, running: true, registered: s.announced !== false, ...(s.host !== undefined ? { host: s.host } : {}), ...(s.process !== undefined ? { process: s.process } : {}) })
    }
  }
  return [...state.values()]
}

const add = (m: Map<string, Counts>, keys: string[], d: Partial<Counts>) => {
  for (const k of keys) {
    const c = m.get(k) ?? { serving: 0, containers: 0 }
    m.set(k, { serving: c.serving + (d.serving ?? 0), containers: c.containers + (d.containers ?? 0) })
  }
}

/** A flow of the plan's waves `indexes`, from the instances there when it begins. */
export function planFlow(waves: Wave[], indexes: number[], atStart: ObservedInstance[]): Flow {
  const counts = new Map<string, Counts>()
  const retiring = new Map<string, { serving: boolean; container: boolean }>()
  for (const i of atStart) add(counts, keyOfInstance(i), { serving: inService(i) ? 1 : 0, containers: i.containerId !== undefined ? 1 : 0 })
  for (const i of atStart) retiring.set(i.name, { serving: inService(i), container: i.containerId !== undefined })
  const steps: PlanStep[] = []
  const orders: Array<Wave['order']> = []
  for (const w of indexes) {
    const wave = waves[w]!
    const list = wave.order === 'start-first' ? [...wave.starts, ...wave.retires] : [...wave.retires, ...wave.starts]
    for (const s of list) {
      steps.push(s)
      orders.push(wave.order)
    }
  }
  // The bounds: the worst each key reaches when the waves run as barriers (every start of a
  // start-first wave begins before any is done; its retires begin once all are done).
  const now = new Map([...counts].map(([k, c]) => [k, { ...c }]))
  const bounds = new Map<string, Bounds>()
  const observe = () => {
    for (const [k, c] of now) {
      const b = bounds.get(k) ?? { floor: c.serving, ceiling: c.containers }
      bounds.set(k, { floor: Math.min(b.floor, c.serving), ceiling: Math.max(b.ceiling, c.containers) })
    }
  }
  observe()
  const begin = (order: Wave['order']) => (s: PlanStep) => add(now, keysOf(s), beginEffect(s, retiring, order))
  const finish = (order: Wave['order']) => (s: PlanStep) => add(now, keysOf(s), finishEffect(s, retiring, order))
  for (const w of indexes) {
    const wave = waves[w]!
    const halves = wave.order === 'start-first' ? [wave.starts, wave.retires] : [wave.retires, wave.starts]
    for (const half of halves) {
      half.forEach(begin(wave.order))
      observe()
      half.forEach(finish(wave.order))
      observe()
    }
  }
  return { steps, orders, waves: indexes, counts, bounds, retiring }
}

function beginEffect(s: PlanStep, retiring: Flow['retiring'], order: Wave['order']): Partial<Counts> {
  if (s.kind === 'start') return { containers: 1 }
  if (s.kind === 'adopt') return {}
  const r = retiring.get(s.instance)
  return { serving: r?.serving ? -1 : 0, containers: r?.container && order === 'start-first' ? -1 : 0 }
}
function finishEffect(s: PlanStep, retiring: Flow['retiring'], order: Wave['order']): Partial<Counts> {
  if (s.kind !== 'retire') return { serving: 1 }
  // stop-first: the retire makes room for a start, so its container counts until it is stopped.
  return { containers: retiring.get(s.instance)?.container && order === 'stop-first' ? -1 : 0 }
}

/**
 * The pending steps that may begin now, in plan order: each keeps every bound given the steps
 * running and done (and the ones before it in this answer). Empty while something runs that
 * must finish first.
 */
export function runnable(flow: Flow, states: readonly StepState[]): number[] {
  const now = new Map([...flow.counts].map(([k, c]) => [k, { ...c }]))
  flow.steps.forEach((s, i) => {
    if (states[i] === 'pending') return
    add(now, keysOf(s), beginEffect(s, flow.retiring, flow.orders[i]!))
    if (states[i] === 'done') add(now, keysOf(s), finishEffect(s, flow.retiring, flow.orders[i]!))
  })
  const out: number[] = []
  flow.steps.forEach((s, i) => {
    if (states[i] !== 'pending') return
    const d = beginEffect(s, flow.retiring, flow.orders[i]!)
    const keys = keysOf(s)
    const fits = keys.every((k) => {
      const c = now.get(k) ?? { serving: 0, containers: 0 }
      const b = flow.bounds.get(k) ?? { floor: 0, ceiling: Number.POSITIVE_INFINITY }
      return c.serving + (d.serving ?? 0) >= b.floor && c.containers + (d.containers ?? 0) <= b.ceiling
    })
    if (!fits) return
    add(now, keys, d)
    out.push(i)
  })
  return out
}
