import { ForrestError } from '../errors.js'

/**
 * What `forrest scale APP ...` was asked: a bare count (web, for an app of one process) or
 * process=count pairs (`worker=5`, `web=3 worker=5`). Pure; checked against the app's processes
 * by `countsFor` before anything is touched.
 */
export type ScaleRequest = { bare: number } | { counts: Record<string, number> }

const usage = 'forrest scale APP N (one process), or forrest scale APP PROCESS=N... e.g. forrest scale myapp worker=5'

export function parseScaleArgs(args: string[]): ScaleRequest {
  if (args.length === 0) throw new ForrestError('BAD_INPUT', 'scale needs a replica count', { suggestion: usage })
  if (args.length === 1 && /^\d+$/.test(args[0]!)) return { bare: Number(args[0]) }
  const counts: Record<string, number> = {}
  for (const arg of args) {
    const m = /^([a-z][a-z0-9-]*)=(\d+)$/.exec(arg)
    if (!m) {
      const what = /^-?\d/.test(arg) ? `replica count must be a whole number >= 0, got "${arg}"` : `expected PROCESS=N (e.g. worker=5), got "${arg}"`
      throw new ForrestError('BAD_INPUT', what, { suggestion: usage })
    }
    if (counts[m[1]!] !== undefined) throw new ForrestError('BAD_INPUT', `process ${m[1]} is given twice`, { suggestion: usage })
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
