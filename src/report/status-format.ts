import { describeStandbyDeadline } from '../plan/keep-old.js'
import { formatHostMarks } from './hosts-format.js'
import { plainTable } from './plain-table.js'
import { shortDigest } from '../spec/image-reference.js'
import type { StatusReport } from '../verbs/status.js'
import type { AppStatus } from '../verbs/status-drift.js'
import type { LaunchedStatus } from '../verbs/status-launched.js'

/** Plain tables (no colours) so CI logs and pipes read the same as a terminal; history.ts takes it from here. */
export { plainTable }

export function formatUptime(seconds: number | undefined): string {
  if (seconds === undefined) return '-'
  const d = Math.floor(seconds / 86_400)
  const h = Math.floor((seconds % 86_400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  if (d > 0) return `${d}d${h}h`
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`
  if (m > 0) return `${m}m${String(seconds % 60).padStart(2, '0')}s`
  return `${seconds}s`
}

/** Human status: per app a summary line, an instance table, then everything out of step. Pure. */
export function formatStatus(report: StatusReport): string[] {
  const marks = formatHostMarks(report.hosts)
  const apps = [...(report.apps.length === 0 ? ['No apps deployed with forrest yet.'] : report.apps.flatMap((a, i) => [...(i > 0 ? [''] : []), ...formatApp(a)])), ...(marks.length ? ['', ...marks] : [])]
  if (report.launchedError) return [...apps, '', `Containers started with forrest launch could not be listed: ${report.launchedError}`]
  return report.launched?.length ? [...apps, '', ...formatLaunched(report.launched)] : apps
}

export function formatLaunched(launched: LaunchedStatus[]): string[] {
  const t = plainTable(['CONTAINER NAME', 'IMAGE', 'STATE', 'ADDRESS', 'REGISTERED', 'PREFIX'])
  for (const l of launched) t.push([l.name, l.image, l.state, l.address ?? '-', l.registered ? 'yes' : 'no', l.prefix])
  return ['Started with forrest launch (not managed by deploy; forrest stop NAME removes one):', ...t.lines()]
}

/** Blue/green's kept colour, with its keepOld deadline when one is recorded ("until 15:42 UTC (in 9m)", or expired). */
export function standbyLine(app: string, revision: number, s: NonNullable<AppStatus['standby']>, now = new Date()): string {
  const recorded = s.weightFrom === 'records' ? ` in forrest's weight records; no live gateway reports HAProxy's weights for it, so a load balancer without forrest gateway may still send it traffic` : ''
  const head = `blue/green: revision ${revision} serves; revision ${s.revision} stands by at weight 0 (${s.instances.join(', ')})${recorded}`
  if (!s.until) return `${head}: forrest rollback ${app} switches back in one step`
  const deadline = describeStandbyDeadline(s.until, now)
  if (s.expired) return `${head}; its keepOld ${deadline}: forrest tidy ${app} retires it (until then forrest rollback ${app} still switches back in one step)`
  return `${head} ${deadline}: forrest rollback ${app} switches back in one step`
}

function formatApp(a: AppStatus): string[] {
  const lines = [
    `${a.app}: revision ${a.revision} (${a.image}${a.digest ? `@${shortDigest(a.digest)}` : ''}, ${a.imageId.replace(/^sha256:/, '').slice(0, 12)})  desired ${a.desired}  healthy ${a.healthy}  registered ${a.registered}  running ${a.running}  ${a.converged ? 'OK' : a.drift.every((d) => d.kind === 'canary-held') ? `CANARY HELD (revision ${a.held?.revision} waits for promote or abort)` : 'NOT CONVERGED'}`,
  ]
  if (a.processes) lines.push(`  processes: web ${a.healthy}/${a.desired} healthy (announced), ${Object.entries(a.processes).map(([p, w]) => `${p} ${w.healthy}/${w.desired} healthy (worker, not announced)`).join(', ')}`)
  if (a.scaled) lines.push(`  replicas set by forrest scale at ${a.scaled.at} by ${a.scaled.by}`)
  if (a.standby) lines.push(`  ${standbyLine(a.app, a.revision, a.standby)}`)
  if (a.instances.length > 0) {
    // The weight column only when a weight is not the default (a weighted canary, or a weight change under way).
    const weighted = a.instances.some((i) => i.weightByGateway || (i.weight !== undefined && i.weight !== 100))
    const t = plainTable(['INSTANCE', 'HOST', 'CONTAINER', 'ADDRESS', 'REV', 'STATE', 'REGISTERED', 'HEALTH', 'UPTIME', 'RESTARTS', ...(weighted ? ['WEIGHT'] : [])])
    for (const i of a.instances) {
      const row = [i.name, i.host ?? '-', i.container ?? '-', i.address ?? '-', i.revision ?? '?', i.oomKilled ? `${i.state} (OOM-killed)` : i.state, i.registered ? 'yes' : i.process ? 'no (worker)' : 'no', `${i.health} (${i.healthDetail})`, formatUptime(i.uptimeSeconds), i.restarts ?? '-']
      t.push(weighted ? [...row, formatWeight(i)] : row)
    }
    for (const line of t.lines()) lines.push(line) // not push(...lines): a very large fleet would pass more arguments than the stack holds
  }
  for (const g of a.gateways) lines.push(`  gateway ${g.id} on ${g.host}: applied revision ${g.revision}${g.error ? `, STUCK: ${g.error}` : ''}`)
  if (a.foreign.length > 0) lines.push(`  not this environment's (never touched): ${a.foreign.map((f) => `${f.name} [${f.owner}]`).join(', ')}`)
  if (a.drift.length > 0) {
    lines.push('Out of step:')
    for (const d of a.drift) lines.push(`  - ${d.message}`)
  }
  return lines
}

/** "53", "0 (no traffic)", or per gateway when their HAProxies disagree: "gw-a 25, gw-b 100". */
export function formatWeight(i: Pick<AppStatus['instances'][number], 'weight' | 'weightByGateway'>): string {
  if (i.weightByGateway) return Object.entries(i.weightByGateway).map(([g, w]) => `${g} ${w}`).join(', ')
  if (i.weight === undefined) return '-'
  return i.weight === 0 ? '0 (no traffic)' : String(i.weight)
}

/** What to run next: a held canary is continued or retired, anything else converged or rolled back. Pure. */
export function notConvergedHint(off: AppStatus[]): string {
  const held = off.filter((a) => a.held)
  // promote and abort converge the whole app (they plan like a deploy), so a held app needs no other hint.
  const other = off.filter((a) => !a.held)
  const hints = held.map((a) => `${a.app} holds revision ${a.held!.revision} after its canary: continue it with \`forrest promote ${a.app}\`, or retire the canary with \`forrest abort ${a.app}\`.`)
  if (other.length > 0) {
    // `forrest rollback` is offered only where it has a revision to go to.
    const rollback = other.some((a) => a.canRollBack !== false)
    const generic = `deploy the file again to converge (forrest deploy FILE)${rollback ? `, or roll back (forrest rollback APP)` : ''}.`
    hints.push(held.length ? `${other.map((a) => a.app).join(', ')}: ${generic}` : generic[0]!.toUpperCase() + generic.slice(1))
  }
  return hints.join(' ')
}
