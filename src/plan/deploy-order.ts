/**
 * The order `forrest deploy DIR` (or several files) deploys its apps in, pure: each file names its
 * app and the apps it must follow (`dependsOn`, as Compose's depends_on). A dependency comes
 * before its dependents; among apps free to go, the order the files were given in (a directory's
 * files sorted by name) breaks the tie, so the same files always deploy in the same order.
 * Every problem with the set is found at once: two files with one app name, a dependsOn naming
 * no file of the set, a cycle.
 */

export interface AppEntry {
  file: string
  name: string
  dependsOn: readonly string[]
}

export type OrderProblem =
  | { kind: 'duplicate'; name: string; files: string[] }
  | { kind: 'missing'; file: string; name: string; dependsOn: string }
  | { kind: 'cycle'; names: string[]; files: string[] }

export type DeployOrder = { ok: true; order: AppEntry[] } | { ok: false; problems: OrderProblem[] }

export function orderApps(entries: readonly AppEntry[]): DeployOrder {
  const problems: OrderProblem[] = []
  const byName = new Map<string, AppEntry>()
  for (const e of entries) {
    const first = byName.get(e.name)
    if (!first) byName.set(e.name, e)
    else {
      const dup = problems.find((p) => p.kind === 'duplicate' && p.name === e.name)
      if (dup && dup.kind === 'duplicate') dup.files.push(e.file)
      else problems.push({ kind: 'duplicate', name: e.name, files: [first.file, e.file] })
    }
  }
  for (const e of entries) {
    for (const d of e.dependsOn) if (!byName.has(d)) problems.push({ kind: 'missing', file: e.file, name: e.name, dependsOn: d })
  }
  if (problems.length > 0) return { ok: false, problems }

  // Kahn's algorithm, always taking the earliest-given app that is free to go.
  const remaining = new Map(entries.map((e) => [e.name, new Set(e.dependsOn.filter((d) => d !== e.name))]))
  const selfLoops = entries.filter((e) => e.dependsOn.includes(e.name))
  for (const e of selfLoops) problems.push({ kind: 'cycle', names: [e.name, e.name], files: [e.file] })
  const order: AppEntry[] = []
  while (remaining.size > 0) {
    const next = entries.find((e) => remaining.get(e.name)?.size === 0)
    if (!next) break
    remaining.delete(next.name)
    for (const deps of remaining.values()) deps.delete(next.name)
    order.push(next)
  }
  if (remaining.size > 0) problems.push(cycleAmong(remaining, byName))
  return problems.length > 0 ? { ok: false, problems } : { ok: true, order }
}

/** One cycle among the apps left waiting (each waits on another left): walk until a name repeats. */
function cycleAmong(remaining: Map<string, Set<string>>, byName: Map<string, AppEntry>): OrderProblem {
  const path: string[] = []
  let at = [...remaining.keys()][0]!
  while (!path.includes(at)) {
    path.push(at)
    at = [...remaining.get(at)!][0]!
  }
  const names = [...path.slice(path.indexOf(at)), at]
  return { kind: 'cycle', names, files: names.slice(0, -1).map((n) => byName.get(n)!.file) }
}

/** One line per problem, naming the files and the fix. */
export function describeOrderProblem(p: OrderProblem): string {
  switch (p.kind) {
    case 'duplicate':
      return `app "${p.name}" is named by ${p.files.length} files (${p.files.join(', ')}): give each app one file`
    case 'missing':
      return `${p.file}: dependsOn: "${p.dependsOn}" names no app among the files given: add its file, or remove it from dependsOn`
    case 'cycle':
      return `dependsOn forms a cycle ${p.names.join(' → ')} (${p.files.join(', ')}): remove one of these dependsOn entries`
  }
}
