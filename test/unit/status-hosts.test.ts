/**
 * `forrest status` and hosts (issue #27), pure: a host that left an app's list while its records
 * still place instances there is drift (never silent), naming the deploy that retires them and the
 * flag for a host that does not answer; cordoned, draining and drained hosts get their own lines.
 */
import { describe, expect, it } from 'vitest'
import { formatHostMarks } from '../../src/report/hosts-format.js'
import { formatStatus } from '../../src/report/status-format.js'
import { formatOverview } from '../../src/report/status-overview.js'
import type { InstanceRecord, RevisionRecord } from '../../src/registry/records.js'
import { classifyApp } from '../../src/verbs/status-drift.js'
import { departedOf } from '../../src/verbs/status-hosts.js'

const rec = (name: string, host: string): InstanceRecord => ({ name, host, container: 'c', revision: 2, address: '10.0.0.1:1' })
const rev2 = { revision: 2, spec: { name: 'web', image: 'web:2', health: { type: 'none' }, announce: { prefix: 'app/servers' } }, imageId: 'sha256:x', templateHash: 'h', createdAt: 'x', author: 'ci', outcome: 'succeeded', changes: [] } as unknown as RevisionRecord

describe('hosts that left an app\'s list, in status', () => {
  it('groups the records on hosts not listed, by host', () => {
    expect(departedOf(['h2'], [rec('web-r2-1', 'h1'), rec('web-r2-2', 'h2'), rec('web-r2-3', 'h1'), rec('web-r2-4', 'h3')])).toEqual([
      { host: 'h1', instances: ['web-r2-1', 'web-r2-3'] },
      { host: 'h3', instances: ['web-r2-4'] },
    ])
    expect(departedOf(['h1', 'h2'], [rec('web-r2-1', 'h1')])).toEqual([])
  })

  it('is drift: not converged, naming the instances, the deploy that retires them and --forget-host', () => {
    const s = classifyApp({ app: 'web', current: { revision: 2, replicas: 0, updatedAt: 'x', by: 'ci' }, revisions: [rev2], containers: [], keys: new Map(), departed: [{ host: 'h1', instances: ['web-r2-1', 'web-r2-3'] }] }, new Map(), 0)
    expect(s.converged).toBe(false)
    expect(s.drift).toContainEqual({
      kind: 'host-left',
      message: "host h1 is no longer in web's hosts list, but 2 of its instances web-r2-1, web-r2-3 are recorded there: the next forrest deploy of web retires them within the bounds (if h1 does not answer, deploy with --forget-host h1)",
    })
  })
})

describe('hosts not in service, in status', () => {
  it('lists each with what it means and how to undo it', () => {
    const lines = formatHostMarks([
      { name: 'h1', availability: 'cordoned', since: '2026-12-06T10:00:00Z', by: 'alice' },
      { name: 'h2', availability: 'draining', since: '2026-12-06T10:01:00Z', by: 'ci' },
    ])
    expect(lines).toEqual([
      'Hosts not in service (forrest host uncordon NAME puts one back):',
      '  h1: cordoned since 2026-12-06T10:00:00Z by alice: no new instance goes there',
      '  h2: draining since 2026-12-06T10:01:00Z by ci: a drain is moving every instance off it (interrupted? forrest host drain NAME resumes it)',
    ])
    expect(formatStatus({ apps: [], converged: true, hosts: [{ name: 'h1', availability: 'drained', since: 't', by: 'b' }] })).toEqual([
      'No apps deployed with forrest yet.',
      '',
      'Hosts not in service (forrest host uncordon NAME puts one back):',
      '  h1: drained since t by b: nothing runs there and nothing new goes there',
    ])
    // status without APP (every app in one table) shows them too.
    expect(formatOverview({ apps: [], converged: true, hosts: [{ name: 'h1', availability: 'drained', since: 't', by: 'b' }] })).toEqual([
      'No apps deployed with forrest yet.',
      '',
      'Hosts not in service (forrest host uncordon NAME puts one back):',
      '  h1: drained since t by b: nothing runs there and nothing new goes there',
    ])
    expect(formatHostMarks(undefined)).toEqual([])
  })
})
