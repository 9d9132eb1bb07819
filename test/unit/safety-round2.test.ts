/**
 * Issue #21 (safety, round two), the pure parts: status of a container that is not running,
 * address changes in the diff, a servers file's block per backend.
 */
import { describe, expect, it } from 'vitest'
import type { ContainerInfo } from '../../src/docker/runtime.js'
import { forrestLabels } from '../../src/labels.js'
import type { RevisionRecord } from '../../src/registry/records.js'
import { classifyApp, type ProbeResult } from '../../src/rollout/status-drift.js'
import { formatStatus } from '../../src/rollout/status-format.js'
import type { DeploymentSpec } from '../../src/spec/types.js'
import { diffSpecs } from '../../src/spec/diff.js'
import { renderServerLines, replaceServersBlock, SERVERS_BEGIN, SERVERS_END } from '../../src/gateway/servers-file.js'

const APP = 'web'
const NOW = Date.parse('2024-06-01T12:00:00Z')
const spec: DeploymentSpec = {
  name: APP,
  image: 'web:1',
  pull: 'missing',
  replicas: 1,
  port: 8080,
  env: {},
  labels: {},
  announce: { prefix: 'app/servers', address: '10.0.0.1' },
  health: { type: 'http', path: '/health', status: 200, interval: 100, timeout: 5000, successes: 1, deadline: 5000 },
  update: { order: 'start-first', maxSurge: 1, maxUnavailable: 0, soak: 0, drain: 100, stopGracePeriod: 1000, onFailure: 'rollback', progressDeadline: 60_000 },
  gateways: { required: 0, timeout: 30_000 },
  hostPorts: { from: 20_000, to: 29_999 },
}
const rec: RevisionRecord = { revision: 1, spec, imageId: 'sha256:x', templateHash: 'h', createdAt: 'x', author: 'ci', outcome: 'succeeded', changes: [] }

describe('status of an instance whose container is not running', () => {
  const exited: ContainerInfo = {
    id: 'abcdef0123456789',
    name: 'web-r1-1',
    image: 'web',
    imageId: 'sha256:x',
    labels: forrestLabels({ owner: 'c1/forrest', app: APP, kind: 'rollout', revision: 1, prefix: 'app/servers' }),
    running: false,
    state: 'exited',
    restartCount: 3,
    createdAt: new Date(NOW - 90_000),
  }
  // Its registered address answers: another process took the port.
  const probes = new Map<string, ProbeResult>([['web-r1-1', { ok: true, detail: 'HTTP 200' }]])
  const s = classifyApp({ app: APP, current: { revision: 1, replicas: 1, updatedAt: 'x', by: 'ci' }, revisions: [rec], containers: [exited], keys: new Map([['web-r1-1', '10.0.0.1:20000']]) }, probes, NOW)

  it('an exited container is never reported healthy, whatever its address answers', () => {
    expect(s.instances[0]).toMatchObject({ state: 'exited', health: 'unhealthy', healthDetail: 'exited' })
    expect(s.healthy).toBe(0)
    expect(s.converged).toBe(false)
  })

  it('status never prints "undefined" for an exited container (no "up undefineds")', () => {
    const text = formatStatus({ apps: [s] } as never).join('\n')
    expect(text).not.toMatch(/undefined/)
    expect(s.drift.find((d) => d.kind === 'crash-loop')?.message).toBe('web-r1-1: crash-looping: restarted 3 times, now exited')
  })
})

describe("a servers file shared by two gateways: each writes only its own backend's block", () => {
  const cfg = [
    'global',
    '  maxconn 100',
    'backend app',
    '  balance roundrobin',
    `  ${SERVERS_BEGIN}`,
    '  server a-1 127.0.0.1:1 check weight 100',
    `  ${SERVERS_END}`,
    'backend nc2',
    '  balance roundrobin',
    `  ${SERVERS_BEGIN}`,
    `  ${SERVERS_END}`,
    '  http-response set-header x %s',
    '',
  ].join('\n')
  const lines = renderServerLines(new Map([['b-1', '127.0.0.1:2']]), 'check', 100)

  it("writes the block inside `backend NAME`, whatever comes first in the file", () => {
    const next = replaceServersBlock(cfg, lines, 'nc2')!
    expect(next.split('\n').slice(0, 7)).toEqual(cfg.split('\n').slice(0, 7)) // app's block untouched
    expect(next.split('\n').slice(7, 12)).toEqual(['backend nc2', '  balance roundrobin', `  ${SERVERS_BEGIN}`, '  server b-1 127.0.0.1:2 check weight 100', `  ${SERVERS_END}`])
    expect(replaceServersBlock(cfg, [], 'app')).not.toContain('a-1')
    expect(replaceServersBlock(cfg, [], 'app')).toContain(`${SERVERS_BEGIN}\n  ${SERVERS_END}\nbackend nc2`)
  })

  it('has no block for a backend whose section has none (another section\'s block never counts)', () => {
    expect(replaceServersBlock(cfg, lines, 'other')).toBeUndefined()
    const noMarkersInNc2 = cfg.replace(`backend nc2\n  balance roundrobin\n  ${SERVERS_BEGIN}\n  ${SERVERS_END}\n`, 'backend nc2\n  balance roundrobin\n')
    expect(replaceServersBlock(noMarkersInNc2, lines, 'nc2')).toBeUndefined()
    expect(replaceServersBlock(noMarkersInNc2, lines, 'app')).toContain('server b-1')
  })
})

describe('an address or prefix change is a change', () => {
  it('diff names a new announce address and prefix (never "no change")', () => {
    const next = { ...spec, announce: { prefix: '/other//servers/', address: '10.0.0.9' } }
    expect(diffSpecs(spec, next)).toEqual(['announce.prefix app/servers → other/servers', 'announce.address 10.0.0.1 → 10.0.0.9'])
    expect(diffSpecs(spec, { ...spec, announce: { prefix: '/app/servers/', address: '10.0.0.1' } })).toEqual(['no change'])
  })
})
