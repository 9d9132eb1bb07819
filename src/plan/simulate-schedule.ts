/**
 * Every way a flow (schedule.ts) can run: after each step that finishes, the executor begins
 * every step runnable() allows; any running step may finish next. Walks all of those orders
 * (memoised on the steps' states) with its own count of the instances, and reports a broken
 * bound, a flow that can stop with steps left (nothing running, nothing allowed), or an end
 * other than the waves' own. Pure; for tests and `bench:scale`-sized checks of small plans.
 */
import { replay, runnable, type Bounds, type Flow, type StepState } from './schedule.js'
import type { ObservedInstance, Wave } from './types.js'

export interface FlowCheck {
  /** Distinct states walked. */
  states: number
  violations: string[]
}

export function exploreFlow(flow: Flow, waves: Wave[], atStart: ObservedInstance[], global: Bounds, opts: { maxStates?: number } = {}): FlowCheck {
  const maxStates = opts.maxStates ?? 200_000
  const seen = new Set<string>()
  const violations: string[] = []
  const expected = new Set(replay(atStart, flow.waves.map((w) => waves[w]!)).map((i) => i.name))
  const hostOf = (name: string) => atStart.find((i) => i.name === name)?.host
  const step = (i: number) => flow.steps[i]!

  // Counts from the instances themselves (not the scheduler's arithmetic): a start's container
  // exists from its beginning and serves once it is done.
  const check = (states: StepState[], where: string) => {
    // A worker (no key) is in service while it runs, as plan/processes.ts counts it.
    const inst = new Map(atStart.map((i) => [i.name, { host: i.host, serving: i.running && (i.registered || i.process !== undefined), container: i.containerId !== undefined }]))
    states.forEach((st, i) => {
      const s = step(i)
      if (st === 'pending') return
      // A retire is out of service from its beginning; with stop-first its container counts until it is done.
      if (s.kind === 'retire' && (st === 'done' || flow.orders[i] === 'start-first')) inst.delete(s.instance)
      else if (s.kind === 'retire') inst.set(s.instance, { ...inst.get(s.instance)!, serving: false })
      else inst.set(s.instance, { host: s.host ?? hostOf(s.instance), serving: st === 'done', container: true })
    })
    const all = [...inst.values()]
    const serving = all.filter((i) => i.serving).length
    const containers = all.filter((i) => i.container).length
    if (serving < global.floor) violations.push(`${where}: ${serving} serving < floor ${global.floor}`)
    if (containers > global.ceiling) violations.push(`${where}: ${containers} containers > ceiling ${global.ceiling}`)
    for (const [key, b] of flow.bounds) {
      const at = key.indexOf('@')
      if (at < 0) continue
      const host = key.slice(at + 1)
      const on = all.filter((i) => i.host === host)
      const s = on.filter((i) => i.serving).length
      const c = on.filter((i) => i.container).length
      if (s < b.floor) violations.push(`${where}: ${host}: ${s} serving < the waves' ${b.floor}`)
      if (c > b.ceiling) violations.push(`${where}: ${host}: ${c} containers > the waves' ${b.ceiling}`)
    }
    return inst
  }

  const walk = (states: StepState[]): void => {
    if (violations.length > 20 || seen.size >= maxStates) return
    const key = states.join(',')
    if (seen.has(key)) return
    seen.add(key)
    const next = [...states]
    for (const i of runnable(flow, next)) next[i] = 'running'
    const label = `after ${states.map((st, i) => (st === 'done' ? step(i).instance : '')).filter(Boolean).join(' ') || 'nothing'}`
    check(next, label)
    const running = next.flatMap((st, i) => (st === 'running' ? [i] : []))
    if (running.length === 0) {
      if (next.some((st) => st === 'pending')) violations.push(`${label}: stuck with ${next.filter((st) => st === 'pending').length} steps pending and none allowed`)
      else {
        const end = check(next, 'end')
        const names = new Set(end.keys())
        if (names.size !== expected.size || [...names].some((n) => !expected.has(n))) violations.push(`end: ${[...names].sort().join(' ')} is not what the waves leave (${[...expected].sort().join(' ')})`)
      }
      return
    }
    for (const i of running) {
      const after = [...next]
      after[i] = 'done'
      walk(after)
    }
  }
  walk(flow.steps.map(() => 'pending'))
  return { states: seen.size, violations }
}
