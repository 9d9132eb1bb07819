import { diffContainer } from './container-diff.js'
import type { ProcessSpec } from './types.js'

/** Human lines for what changed in the workers between two revisions' specs ("worker: command ..."). Pure. */
export function diffProcesses(prev: Record<string, ProcessSpec> | undefined, next: Record<string, ProcessSpec> | undefined): string[] {
  const [p, n] = [prev ?? {}, next ?? {}]
  const out: string[] = []
  for (const name of [...new Set([...Object.keys(p), ...Object.keys(n)])].sort()) {
    const [a, b] = [p[name], n[name]]
    if (!a) out.push(`process +${name} (worker, ${b!.replicas} replica${b!.replicas === 1 ? '' : 's'})`)
    else if (!b) out.push(`process -${name}`)
    else {
      if (JSON.stringify(a.command) !== JSON.stringify(b.command)) out.push(`${name}: command ${JSON.stringify(a.command ?? null)} → ${JSON.stringify(b.command ?? null)}`)
      if (JSON.stringify(a.health) !== JSON.stringify(b.health)) out.push(`${name}: health check changed`)
      out.push(...diffContainer(a.container, b.container).map((line) => `${name}: ${line}`))
      if (a.update.stopGracePeriod !== b.update.stopGracePeriod) out.push(`${name}: stopGracePeriod ${a.update.stopGracePeriod}ms → ${b.update.stopGracePeriod}ms`)
      if (a.replicas !== b.replicas) out.push(`${name}: replicas ${a.replicas} → ${b.replicas}`)
    }
  }
  return out
}
