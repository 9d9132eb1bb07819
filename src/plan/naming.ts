/**
 * Instance names: `${app}-r${revision}-${ordinal}`, ordinals from 1. The name is the container
 * name and the last segment of the etcd key, so it must be unique among everything observed.
 */

export function instanceName(app: string, revision: number, ordinal: number): string {
  return `${app}-r${revision}-${ordinal}`
}

/** Revision and ordinal of a name this app's planner made, or undefined for any other name. */
export function parseInstanceName(app: string, name: string): { revision: number; ordinal: number } | undefined {
  if (!name.startsWith(`${app}-r`)) return undefined
  const match = /^(\d+)-(\d+)$/.exec(name.slice(app.length + 2))
  return match ? { revision: Number(match[1]), ordinal: Number(match[2]) } : undefined
}

/**
 * `count` new names for a revision, using the smallest ordinals whose name is not taken.
 * Deterministic, so the same observed state always gives the same plan.
 */
export function freshInstanceNames(app: string, revision: number, count: number, taken: Iterable<string>): string[] {
  const used = new Set(taken)
  const names: string[] = []
  for (let ordinal = 1; names.length < count; ordinal++) {
    const name = instanceName(app, revision, ordinal)
    if (!used.has(name)) names.push(name)
  }
  return names
}
