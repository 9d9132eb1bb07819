import { describe, expect, it } from 'vitest'
import { appState, formatOverview } from '../../src/report/status-overview.js'
import type { AppStatus } from '../../src/verbs/status-drift.js'

const app = (name: string, over: Partial<AppStatus> = {}): AppStatus => ({
  app: name,
  revision: 3,
  image: 'demo/myapp:2',
  imageId: 'sha256:0123456789abcdef',
  prefix: `apps/${name}/servers`,
  desired: 2,
  healthy: 2,
  registered: 2,
  running: 2,
  instances: [
    { name: `${name}-r3-1`, host: 'h2', state: 'running', registered: true, health: 'healthy', healthDetail: '200' },
    { name: `${name}-r3-2`, host: 'h1', state: 'running', registered: true, health: 'healthy', healthDetail: '200' },
  ] as AppStatus['instances'],
  foreign: [],
  gateways: [],
  drift: [],
  converged: true,
  ...over,
})

describe('status without APP: one table of every app', () => {
  it('one header and one row per app, hosts sorted, drift named by app below', () => {
    const off = app('api', { healthy: 1, converged: false, drift: [{ kind: 'unhealthy', instance: 'api-r3-1', message: 'api-r3-1 fails its health check' }] })
    const lines = formatOverview({ apps: [app('web'), off], converged: false })
    expect(lines.filter((l) => l.includes('│ APP '))).toHaveLength(1)
    const cells = (name: string) => lines.find((l) => l.startsWith(`│ ${name} `))!.split('│').slice(1, -1).map((c) => c.trim())
    expect(cells('web')).toEqual(['web', '3', 'demo/myapp:2', '2', '2', '2', '2', 'h1,h2', 'apps/web/servers', 'OK'])
    expect(cells('api')).toEqual(['api', '3', 'demo/myapp:2', '2', '1', '2', '2', 'h1,h2', 'apps/api/servers', 'NOT CONVERGED'])
    expect(lines).toContain('  - api: api-r3-1 fails its health check')
    expect(lines.join('\n')).not.toContain('INSTANCE')
  })

  it('no apps: says so', () => {
    expect(formatOverview({ apps: [], converged: true })).toEqual(['No apps deployed with forrest yet.'])
  })

  it('the state names what to act on', () => {
    expect(appState(app('a', { converged: false, held: { revision: 4, instances: [] }, drift: [{ kind: 'canary-held', message: '' }] }))).toBe('CANARY HELD (r4)')
    expect(appState(app('a', { converged: false, drift: [{ kind: 'rollout-in-progress', message: '' }, { kind: 'replica-count', message: '' }] }))).toBe('ROLLING OUT')
  })
})
