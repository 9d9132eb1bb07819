import type { ContainerSettings } from './container.js'

/** "container.resources.memory 256m → 512m" lines for what changed in the container settings. Pure. */
export function diffContainer(prev: ContainerSettings | undefined, next: ContainerSettings | undefined): string[] {
  const a = (prev ?? {}) as Record<string, unknown>
  const b = (next ?? {}) as Record<string, unknown>
  const out: string[] = []
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (key === 'resources' || key === 'logging') {
      const inner = diffObjects(a[key] as Record<string, unknown> | undefined, b[key] as Record<string, unknown> | undefined)
      out.push(...inner.map((line) => `container.${key}.${line}`))
    } else if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) {
      out.push(`container.${key} ${show(a[key])} → ${show(b[key])}`)
    }
  }
  return out
}

function diffObjects(a: Record<string, unknown> = {}, b: Record<string, unknown> = {}): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .sort()
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k} ${show(a[k])} → ${show(b[k])}`)
}

const show = (v: unknown): string => (v === undefined ? '(unset)' : typeof v === 'string' ? v : JSON.stringify(v))
