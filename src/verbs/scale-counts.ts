import { ForrestError } from '../errors.js'

/**
 * What `forrest scale APP ...` was asked: a bare count (web, for an app of one process) or
 * process=count pairs (`worker=5`, `web=3 worker=5`). Pure; checked against the app's processes
 * by `countsFor` before anything is touched.
 */
export type ScaleRequest = { bare: number } | { counts: Record<string, number> }

/** The usage hint, with the app's own name when known (a hint to copy, not `myapp`). */
const usageFor = (app = 'APP') => `forrest scale ${app} N (one process), or forrest scale ${app} PROCESS=N... e.g. forrest scale ${app === 'APP' ? 'myapp' : app} worker=5`

export function parseScaleArgs(args: string[], app?: string): ScaleRequest {
  const usage = usageFor(app)
  if (args.length === 0) throw new ForrestError('BAD_INPUT', 'scale needs a replica count; nothing was changed', { suggestion: usage })
  if (args.length === 1 && /^\d+$/.test(args[0]!)) return { bare: Number(args[0]) }
  const counts: Record<string, number> = {}
  for (const arg of args) {
    const m = /^([a-z][a-z0-9-]*)=(\d+)$/.exec(arg)
    if (!m) {
      const count = /^([a-z][a-z0-9-]*)=(.*)$/.exec(arg)
      const what = /^-?\d/.test(arg)
        ? `replica count must be a whole number >= 0, got "${arg}"`
        : count
          ? `the count of ${count[1]} must be a whole number >= 0, got "${arg}"`
          : `expected PROCESS=N (e.g. worker=5), got "${arg}"`
      throw new ForrestError('BAD_INPUT', `${what}; nothing was changed`, { suggestion: usage })
    }
    if (counts[m[1]!] !== undefined) throw new ForrestError('BAD_INPUT', `process ${m[1]} is given twice (${m[1]}=${counts[m[1]!]} and ${arg}); nothing was changed`, { suggestion: `give each process once, e.g. forrest scale ${app ?? 'APP'} ${m[1]}=${m[2]}` })
    counts[m[1]!] = Number(m[2])
  }
  return { counts }
}

/**
 * The request against the app's processes (web first): web's count and the workers' counts.
 * A bare number means web only where web is the only process; an unknown process is refused.
 */
export function countsFor(app: string, req: ScaleRequest, processes: string[], current: { web: number; workers: Record<string, number> }): { web: number; workers: Record<string, number> } {
  const list = processes.join(', ')
  if ('bare' in req) {
    if (processes.length > 1) {
      throw new ForrestError('BAD_INPUT', `${app} has several processes (${list}): say which to scale; nothing was changed`, {
        suggestion: `forrest scale ${app} ${processes.map((p) => `${p}=N`).join(' ')}, e.g. forrest scale ${app} ${processes[1]}=${req.bare}`,
      })
    }
    return { web: req.bare, workers: current.workers }
  }
  const unknown = Object.keys(req.counts).filter((p) => !processes.includes(p))
  if (unknown.length) {
    throw new ForrestError('BAD_INPUT', `${app} has no process ${unknown.map((p) => `"${p}"`).join(', ')}; its processes: ${list}; nothing was changed`, {
      suggestion: `forrest scale ${app} ${processes[processes.length - 1]}=N (forrest status ${app} lists them)`,
    })
  }
  const { web: webCount, ...workers } = req.counts
  return { web: webCount ?? current.web, workers: { ...current.workers, ...workers } }
}
