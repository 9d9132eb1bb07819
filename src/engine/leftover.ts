/** One instance as observed after a rollout stopped part-way. */
export interface LeftInstance {
  name: string
  revision?: number
  registered: boolean
  running: boolean
  /** A worker's process name: never registered by design, so counted on its own. Absent: web. */
  process?: string
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/**
 * What an interrupted rollout left, and what the next deploy of the same file does about it.
 * Pure: from the instances observed after the interruption. "new" is the target revision,
 * everything else "old"; an instance that runs but is not registered takes no traffic.
 */
export function describeLeftover(instances: readonly LeftInstance[], target: number, previous?: number): string {
  const running = instances.filter((i) => i.running)
  // Workers are never registered: counted per process, never reported as "not registered".
  const web = running.filter((i) => !i.process)
  const fresh = web.filter((i) => i.revision === target)
  const old = web.filter((i) => i.revision !== target)
  const unregistered = web.filter((i) => !i.registered)
  const revisionsOf = (list: LeftInstance[]) => [...new Set(list.map((i) => i.revision))].filter((r) => r !== undefined).sort((a, b) => a - b)
  const parts = [`${plural(fresh.length, 'instance')} of revision ${target} (new)`]
  if (old.length || previous !== undefined) parts.push(`${old.length} of revision ${revisionsOf(old).join('/') || previous} (old)`)
  const registration = !running.length
    ? 'nothing running'
    : unregistered.length
      ? `${plural(unregistered.length, 'instance')} running but not registered (${unregistered.map((i) => i.name).join(', ')}: no traffic)`
      : web.length
        ? 'all registered'
        : 'no web instance running'
  const workers = [...new Set(running.filter((i) => i.process).map((i) => i.process!))].sort().map((p) => {
    const of = running.filter((i) => i.process === p)
    const newer = of.filter((i) => i.revision === target).length
    const older = of.filter((i) => i.revision !== target)
    return `${p}: ${newer} of revision ${target} (new)${older.length ? `, ${older.length} of revision ${revisionsOf(older).join('/') || previous} (old)` : ''} (worker, never registered)`
  })
  const next =
    fresh.length === running.length && unregistered.length === 0 && previous === undefined && !running.length
      ? `the next \`forrest deploy\` of the same file starts revision ${target} from scratch`
      : `the next \`forrest deploy\` of the same file continues to revision ${target}: it keeps the new instances that serve${unregistered.length ? ', adopts an unregistered one of revision ' + target + ' if it is healthy (removes the others)' : ''} and replaces the old ones${previous !== undefined ? `; deploying the previous file instead returns to revision ${previous}` : ''}`
  return `left: ${parts.join(', ')}; ${registration}${workers.map((w) => `; ${w}`).join('')}. ${next[0]!.toUpperCase()}${next.slice(1)}.`
}
