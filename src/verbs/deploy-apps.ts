/**
 * `forrest deploy DIR` / `forrest deploy a.yml b.yml`: every app of the set, one after the other
 * in the declared order (plan/deploy-order.ts), each a deploy of its own under its own lock. The
 * first app that does not end deployed stops the set: the apps after it are not attempted, and
 * the error keeps that app's code (so its exit code), its message and suggestion, with a summary
 * of the whole set before them. Nothing is touched before every file is valid and the order is
 * known (a cycle, two files with one app, a dependsOn naming no file: exit 2).
 */
import { ForrestError, toForrestError } from '../errors.js'
import { checkSecretPaths } from '../engine/secret-paths.js'
import type { RolloutResult } from '../engine/types.js'
import { describeOrderProblem, orderApps } from '../plan/deploy-order.js'
import type { SpecFile } from '../spec/load-set.js'

export type AppStatus = 'deployed' | 'unchanged' | 'planned' | 'failed' | 'not attempted'

export interface AppOutcome {
  app: string
  file: string
  status: AppStatus
  /** The app's rollout result: on success, or the failed rollout's (from its error) when there is one. */
  result?: RolloutResult
  error?: { code: string; exit: number; message: string }
}

export interface AppsResult {
  outcome: 'succeeded' | 'failed' | 'dry-run'
  /** App names in the order they deploy. */
  order: string[]
  apps: AppOutcome[]
}

/** The set in deploy order; refuses (exit 2, nothing changed) what cannot be ordered or whose secrets cannot be read. */
export function orderSpecFiles(files: readonly SpecFile[], env: NodeJS.ProcessEnv): SpecFile[] {
  const byFile = new Map(files.map((f) => [f.file, f]))
  const ordered = orderApps(files.map((f) => ({ file: f.file, name: f.spec.name, dependsOn: f.spec.dependsOn ?? [] })))
  if (!ordered.ok) {
    const lines = ordered.problems.map(describeOrderProblem)
    throw new ForrestError('BAD_INPUT', `cannot deploy these ${files.length} files together; nothing was changed:\n${lines.map((l) => `  ${l}`).join('\n')}`, {
      suggestion: 'Fix the files named above and run the deploy again.',
      detail: { problems: ordered.problems },
    })
  }
  // A secret that cannot be read fails before the first app is touched, not when its turn comes.
  for (const f of files) checkSecretPaths(f.spec, f.file, env)
  return ordered.order.map((e) => byFile.get(e.file)!)
}

export async function deployApps(ordered: readonly SpecFile[], deployOne: (f: SpecFile) => Promise<RolloutResult>, opts: { dryRun?: boolean; signal?: AbortSignal; onResult?: (o: AppOutcome) => Promise<void> | void } = {}): Promise<AppsResult> {
  const order = ordered.map((f) => f.spec.name)
  const apps: AppOutcome[] = []
  for (const [i, f] of ordered.entries()) {
    try {
      // Ctrl-C during one app ends that app's rollout (its own handling); the next is not begun.
      if (opts.signal?.aborted) throw new ForrestError('INTERRUPTED', `interrupted before ${f.spec.name} was begun; it was not changed`, { suggestion: 'Run the same deploy again: the apps already deployed are no-ops.' })
      const result = await deployOne(f)
      const status: AppStatus = result.outcome === 'dry-run' ? 'planned' : result.outcome === 'noop' ? 'unchanged' : 'deployed'
      apps.push({ app: f.spec.name, file: f.file, status, result })
      await opts.onResult?.(apps[apps.length - 1]!)
    } catch (err) {
      const fe = toForrestError(err)
      const result = (fe.detail as RolloutResult | undefined)?.timings ? (fe.detail as RolloutResult) : undefined
      apps.push({ app: f.spec.name, file: f.file, status: 'failed', ...(result ? { result } : {}), error: { code: fe.code, exit: fe.exit, message: fe.message } })
      for (const rest of ordered.slice(i + 1)) apps.push({ app: rest.spec.name, file: rest.file, status: 'not attempted' })
      const detail: AppsResult = { outcome: 'failed', order, apps }
      throw new ForrestError(fe.code, `${summarize(detail)}\n${f.spec.name}: ${fe.message}`, { cause: fe, suggestion: fe.suggestion, detail })
    }
  }
  return { outcome: opts.dryRun ? 'dry-run' : 'succeeded', order, apps }
}

/** One line per status: which apps deployed, which failed, which were not attempted. */
export function summarize(r: AppsResult): string {
  const failed = r.apps.find((a) => a.status === 'failed')
  const head = failed ? `deploy of ${r.apps.length} apps stopped at ${failed.app} (${failed.file}, exit ${failed.error?.exit}):` : `deploy of ${r.apps.length} apps ${r.outcome === 'dry-run' ? 'planned (dry run, nothing changed)' : 'done'}:`
  const groups: AppStatus[] = ['deployed', 'unchanged', 'planned', 'failed', 'not attempted']
  const lines = groups.flatMap((s) => {
    const these = r.apps.filter((a) => a.status === s)
    return these.length ? [`  ${s}: ${these.map((a) => (a.result && s !== 'failed' ? `${a.app} (revision ${a.result.revision})` : s === 'failed' ? `${a.app} (${a.error?.code})` : a.app)).join(', ')}`] : []
  })
  return [head, ...lines].join('\n')
}
