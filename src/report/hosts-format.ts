import type { HostRow } from '../verbs/host.js'
import type { HostMark } from '../verbs/status-hosts.js'
import { PlainTable } from './plain-table.js'

/** `forrest host ls` for people: one row per host. */
export function formatHosts(hosts: HostRow[]): string[] {
  if (hosts.length === 0) return ['no hosts: no app has been deployed yet']
  const table = new PlainTable(['HOST', 'AVAILABILITY', 'SINCE', 'INSTANCES', 'APPS'])
  for (const h of hosts) {
    const inst = Object.entries(h.instances).map(([app, n]) => `${app} ${n}`).join(', ')
    table.push([h.name, h.availability, h.since ? `${h.since} by ${h.by}` : '', inst || '-', h.apps.join(', ') || '-'])
  }
  return table.lines()
}

/** The status lines for them: what each means for deploys, and the command that undoes it. */
export function formatHostMarks(hosts: HostMark[] | undefined): string[] {
  if (!hosts?.length) return []
  const what = { cordoned: 'no new instance goes there', draining: 'a drain is moving every instance off it (interrupted? forrest host drain NAME resumes it)', drained: 'nothing runs there and nothing new goes there' }
  return ['Hosts not in service (forrest host uncordon NAME puts one back):', ...hosts.map((h) => `  ${h.name}: ${h.availability} since ${h.since} by ${h.by}: ${what[h.availability]}`)]
}
