import { Listr } from 'listr2'
import type { PullProgress } from '../docker/runtime.js'
import type { HostPullEvent } from '../image/pre-pull.js'
import type { RendererName } from './renderer.js'

export { shortRef } from '../spec/image-reference.js'


const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`
export const describeProgress = (p: PullProgress): string =>
  p.bytesTotal > 0 ? `${p.layersDone}/${p.layers} layers, ${(p.bytes / 1e6).toFixed(1)}/${mb(p.bytesTotal)}` : `${p.layersDone}/${p.layers} layers`

/** The plain-line form (CI logs): a line per host when a layer completes, at most every `everyMs` otherwise. Pure but for `write`. */
export function plainPullLines(write: (line: string) => void, everyMs = 2000, now = () => Date.now()): (e: HostPullEvent) => void {
  const last = new Map<string, { at: number; layersDone: number; bytesTotal: number }>()
  const stamp = () => `[${new Date(now()).toTimeString().slice(0, 8)}]`
  return (e) => {
    switch (e.kind) {
      case 'start':
        if (e.pulling) write(`${stamp()} ${e.host}: pulling`)
        return
      case 'progress': {
        const prev = last.get(e.host)
        const t = now()
        if (prev && prev.layersDone === e.progress.layersDone && t - prev.at < everyMs) return
        last.set(e.host, { at: t, layersDone: e.progress.layersDone, bytesTotal: e.progress.bytesTotal })
        write(`${stamp()} ${e.host}: ${describeProgress(e.progress)}`)
        return
      }
      case 'done': {
        const size = last.get(e.host)?.bytesTotal
        write(`${stamp()} ${e.host}: ${e.pulled ? `pulled in ${(e.ms / 1000).toFixed(1)}s${size ? ` (${mb(size)})` : ''}` : 'already present'}`)
        return
      }
      case 'failed':
        write(`${stamp()} ${e.host}: pull failed: ${e.error.message.split('\n')[0]}`)
    }
  }
}

/**
 * Runs `work` (which resolves and pre-pulls, reporting through onEvent) with the progress shown
 * the way the rollout is: a listr2 task per host on a terminal, plain lines in CI, nothing for --json.
 */
export async function withPullView<T>(renderer: RendererName, title: string, hosts: string[], work: (onEvent: (e: HostPullEvent) => void) => Promise<T>): Promise<T> {
  if (renderer === 'silent') return work(() => undefined)
  if (renderer === 'simple') {
    const write = (l: string) => void process.stdout.write(`${l}\n`)
    write(`[${new Date().toTimeString().slice(0, 8)}] ${title}`)
    return work(plainPullLines(write))
  }
  type Pending = { resolve: () => void; reject: (e: Error) => void; setTitle?: (t: string) => void; last?: HostPullEvent }
  const pending = new Map<string, Pending>(hosts.map((h) => [h, { resolve: () => undefined, reject: () => undefined }]))
  const settled = new Map<string, HostPullEvent>()
  let closed = false
  const apply = (p: Pending, e: HostPullEvent) => {
    if (e.kind === 'progress') p.setTitle?.(`${e.host}: ${describeProgress(e.progress)}`)
    else if (e.kind === 'start') p.setTitle?.(`${e.host}: ${e.pulling ? 'pulling' : 'checking'}`)
    else if (e.kind === 'done') {
      p.setTitle?.(`${e.host}: ${e.pulled ? `pulled in ${(e.ms / 1000).toFixed(1)}s` : 'already present'}`)
      p.resolve()
    } else if (e.kind === 'failed') p.reject(new Error(e.error.message.split('\n')[0]))
  }
  const listr = new Listr(
    [
      {
        title,
        task: (_, task) =>
          task.newListr(
            hosts.map((h) => ({
              title: `${h}: checking`,
              task: (_c: unknown, t: { title: string }) =>
                new Promise<void>((resolve, reject) => {
                  const p = pending.get(h)!
                  Object.assign(p, { resolve, reject, setTitle: (s: string) => (t.title = s) })
                  if (p.last) apply(p, p.last)
                  const s = settled.get(h)
                  if (s) apply(p, s)
                  else if (closed) {
                    t.title = `${h}: not pulled`
                    resolve()
                  }
                }),
            })),
            { concurrent: true, exitOnError: false },
          ),
      },
    ],
    { renderer: 'default', rendererOptions: { collapseSubtasks: false }, exitOnError: false, registerSignalListeners: false } as never,
  )
  const shown = listr.run().catch(() => undefined)
  const onEvent = (e: HostPullEvent) => {
    const p = pending.get(e.host)
    if (!p) return
    if (e.kind === 'done' || e.kind === 'failed') settled.set(e.host, e)
    p.last = e
    apply(p, e)
  }
  try {
    return await work(onEvent)
  } finally {
    // Hosts never reached (the lookup failed before any pull): end their tasks too.
    closed = true
    for (const [h, p] of pending) {
      if (settled.has(h)) continue
      p.setTitle?.(`${h}: not pulled`)
      p.resolve()
    }
    await shown
  }
}
