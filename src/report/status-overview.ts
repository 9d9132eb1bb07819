/**
 * `forrest status` without APP: every app in one table, one row each (revision, image, the counts,
 * its hosts, its prefix, a state), then what is out of step, each line naming its app, and the
 * `forrest launch` containers. Each instance is one `forrest status APP` away. Pure.
 */
import type { StatusReport } from '../verbs/status.js'
import type { AppStatus } from '../verbs/status-drift.js'
import { formatHostMarks } from './hosts-format.js'
import { formatLaunched } from './status-format.js'
import { plainTable } from './plain-table.js'
import { shortRef } from '../spec/image-reference.js'

/** One word or two for the STATE column: what an operator acts on. */
export function appState(a: AppStatus): string {
  if (a.converged) return 'OK'
  if (a.drift.every((d) => d.kind === 'canary-held')) return `CANARY HELD (r${a.held?.revision})`
  if (a.drift.some((d) => d.kind === 'rollout-in-progress')) return 'ROLLING OUT'
  return 'NOT CONVERGED'
}

export function formatOverview(report: StatusReport): string[] {
  const lines: string[] = []
  if (report.apps.length === 0) lines.push('No apps deployed with forrest yet.')
  else {
    const t = plainTable(['APP', 'REV', 'IMAGE', 'DESIRED', 'HEALTHY', 'REGISTERED', 'RUNNING', 'HOSTS', 'PREFIX', 'STATE'])
    for (const a of report.apps) {
      const hosts = [...new Set(a.instances.map((i) => i.host).filter((h): h is string => Boolean(h)))].sort()
      t.push([a.app, a.revision, shortRef(a.image), a.desired, a.healthy, a.registered, a.running, hosts.length ? hosts.join(',') : '-', a.prefix, appState(a)])
    }
    for (const l of t.lines()) lines.push(l)
    const off = report.apps.filter((a) => a.drift.length > 0)
    if (off.length > 0) {
      lines.push('Out of step:')
      for (const a of off) for (const d of a.drift) lines.push(`  - ${a.app}: ${d.message}`)
    }
    lines.push(`Each instance, its health and its gateways: forrest status APP`)
  }
  const marks = formatHostMarks(report.hosts)
  if (marks.length) lines.push('', ...marks)
  if (report.launchedError) return [...lines, '', `Containers started with forrest launch could not be listed: ${report.launchedError}`]
  return report.launched?.length ? [...lines, '', ...formatLaunched(report.launched)] : lines
}
