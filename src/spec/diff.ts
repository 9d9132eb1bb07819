import { normalizePrefix } from '../config.js'
import { diffContainer } from './container-diff.js'
import { diffProcesses } from './process-diff.js'
import type { DeploymentSpec } from './types.js'

/** Human lines for what changed between two revisions' specs (history, plan output). Pure. */
export function diffSpecs(prev: DeploymentSpec | undefined, next: DeploymentSpec, prevImageId?: string, nextImageId?: string): string[] {
  if (!prev) return ['first revision']
  const out: string[] = []
  if (prev.image !== next.image) out.push(`image ${prev.image} → ${next.image}`)
  else if (prevImageId && nextImageId && prevImageId !== nextImageId) out.push(`image ${next.image} now resolves to ${nextImageId.slice(7, 19)}`)
  if (prev.port !== next.port) out.push(`port ${prev.port} → ${next.port}`)
  if (JSON.stringify(prev.command) !== JSON.stringify(next.command)) out.push(`command ${JSON.stringify(prev.command ?? null)} → ${JSON.stringify(next.command ?? null)}`)
  for (const k of new Set([...Object.keys(prev.env), ...Object.keys(next.env)])) {
    if (!(k in next.env)) out.push(`env -${k}`)
    else if (!(k in prev.env)) out.push(`env +${k}`)
    else if (prev.env[k] !== next.env[k]) out.push(`env ~${k}`)
  }
  if (JSON.stringify(prev.labels) !== JSON.stringify(next.labels)) out.push('labels changed')
  out.push(...diffContainer(prev.container, next.container))
  if (JSON.stringify(prev.health) !== JSON.stringify(next.health)) out.push('health check changed')
  // Where it is announced: a move is a change like any other (a forgotten FORREST_IP must never read "no change").
  const [pp, np] = [normalizePrefix(prev.announce?.prefix ?? ''), normalizePrefix(next.announce?.prefix ?? '')]
  if (pp && np && pp !== np) out.push(`announce.prefix ${pp} → ${np}`)
  const [pa, na] = [prev.announce?.address ?? '', next.announce?.address ?? '']
  if (pa && na && pa !== na) out.push(`announce.address ${pa} → ${na}`)
  if (JSON.stringify(prev.release) !== JSON.stringify(next.release)) out.push(`release command ${JSON.stringify(prev.release?.command ?? null)} → ${JSON.stringify(next.release?.command ?? null)}`)
  const several = prev.processes !== undefined || next.processes !== undefined
  if (prev.replicas !== next.replicas) out.push(`${several ? 'web: ' : ''}replicas ${prev.replicas} → ${next.replicas}`)
  out.push(...diffProcesses(prev.processes, next.processes))
  return out.length ? out : ['no change']
}
