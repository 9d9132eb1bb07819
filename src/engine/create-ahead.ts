/**
 * Containers created ahead of their start (#30). `docker create` (image config, name, networks,
 * mounts) costs about as much as the start itself, and a created container takes no CPU, memory
 * or traffic: so while a step waits for its health check and its acknowledgement, the next steps'
 * containers are created, up to a window per host, and each step only starts, checks and
 * announces. A created container a step never took (a failure, a rollback, an interruption, a
 * canary held) is removed when the execution ends; one left by a SIGKILL is not running and not
 * registered, so the next run's drift wave removes it (planRollout: "exists but is not running").
 */
import createDebug from 'debug'
import type { StartStep } from '../plan/types.js'
import { instanceRunOptions, type HostTarget, type StepDeps } from './steps.js'

const debug = createDebug('forrest:create-ahead')

export interface Created {
  id: string
  hostPort: number
  /** How long its docker create took (off the step's critical path). */
  createMs: number
}

export interface CreateAhead {
  /** The step's container if it was created ahead (it is the step's from now on); undefined: the step creates its own. */
  take(step: StartStep): Promise<Created | undefined>
  /** Stops creating and removes every container created ahead and never taken; returns their names. */
  dispose(): Promise<string[]>
}

/** The window: twice the most starts one wave makes (so the next wave's are ready), at least 2, at most 32. */
export const createWindow = (wavesStarts: number[]): number => Math.min(32, Math.max(2, 2 * Math.max(0, ...wavesStarts)))

export function createAhead(deps: StepDeps, steps: StartStep[], window: number): CreateAhead {
  const queues = new Map<string, StartStep[]>() // per host, in plan order
  const hostOf = new Map<string, string>()
  for (const s of steps) {
    const key = s.host ?? ''
    if (!queues.has(key)) queues.set(key, [])
    queues.get(key)!.push(s)
    hostOf.set(s.instance, key)
  }
  const ready = new Map<string, Promise<Created | undefined>>() // created or being created, not taken
  const claimed = new Set<string>() // taken, or skipped because its step came first
  const busy = new Set<string>() // hosts whose worker is creating
  let stopped = false

  const held = (host: string) => [...ready.keys()].filter((n) => hostOf.get(n) === host).length

  const createOne = async (step: StartStep, host: HostTarget): Promise<Created | undefined> => {
    const t0 = Date.now()
    try {
      const hostPort = await deps.ports.allocate(host)
      deps.assertHeld()
      const id = await host.runtime.create({ ...instanceRunOptions(deps, step, host), hostPort })
      debug('%s created ahead on %s in %dms', step.instance, host.name, Date.now() - t0)
      return { id, hostPort, createMs: Date.now() - t0 }
    } catch (err) {
      // The step will create its own and meet the same error there, where it is reported.
      debug('%s: creating ahead failed: %s', step.instance, (err as Error).message)
      return undefined
    }
  }

  const pump = (hostKey: string): void => {
    if (busy.has(hostKey)) return
    const queue = queues.get(hostKey) ?? []
    const next = queue.find((s) => !claimed.has(s.instance) && !ready.has(s.instance))
    if (stopped || deps.signal.aborted || !next || held(hostKey) >= window) return
    let host: HostTarget
    try {
      host = deps.host(next.host)
    } catch {
      return // unreachable: its step fails with the reason
    }
    busy.add(hostKey)
    const p = createOne(next, host)
    ready.set(next.instance, p)
    void p.finally(() => {
      busy.delete(hostKey)
      pump(hostKey)
    })
  }

  for (const key of queues.keys()) pump(key)

  return {
    async take(step) {
      claimed.add(step.instance)
      const p = ready.get(step.instance)
      if (!p) return undefined
      ready.delete(step.instance)
      const created = await p
      pump(step.host ?? '')
      return created
    },
    async dispose() {
      stopped = true
      const left = [...ready.entries()]
      ready.clear()
      const removed: string[] = []
      for (const [name, p] of left) {
        const c = await p
        if (!c) continue
        const step = steps.find((s) => s.instance === name)!
        // A lost lock: another run owns the app now; its drift wave removes what is left.
        try {
          deps.assertHeld()
        } catch {
          continue
        }
        await deps.host(step.host).runtime.remove(c.id).then(() => removed.push(name), (err) => debug('%s: remove failed: %s', name, (err as Error).message))
      }
      if (removed.length) debug('removed %d containers created ahead and never started: %s', removed.length, removed.join(', '))
      return removed
    },
  }
}
