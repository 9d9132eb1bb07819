/**
 * Issue #21 (safety, round two), the pure parts: status of a container that is not running,
 * address changes in the diff, a servers file's block per backend.
 */
import { describe, expect, it } from 'vitest'
import type { ContainerInfo } from '../../src/docker/runtime.js'
import { forrestLabels } from '../../src/labels.js'
import type { RevisionRecord } from '../../src/registry/records.js'
import { classifyApp, type ProbeResult } from '../../src/verbs/status-drift.js'
import { formatStatus } from '../../src/report/status-format.js'
import type { DeploymentSpec } from '../../src/spec/types.js'
import { diffSpecs } from '../../src/spec/diff.js'
import { EXIT, type ForrestError } from '../../src/errors.js'
import { checkDetectedAddress, checkPrefixMove } from '../../src/engine/preflight.js'
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

describe('deploy preflight (pure refusals)', () => {
  const explicit = { prefix: true, address: true }
  const detected = { prefix: true, address: false }

  it('a detected address that differs from the current revision\'s is refused, naming both and FORREST_IP', () => {
    const err = catchError(() => checkDetectedAddress(APP, detected, '192.0.2.2', rec))
    expect(err.exit).toBe(EXIT.badInput)
    expect(err.message).toBe('web: the detected address 192.0.2.2 differs from the address revision 1 runs at (10.0.0.1); nothing was changed')
    expect(err.suggestion).toContain('FORREST_IP=10.0.0.1')
    expect(() => checkDetectedAddress(APP, detected, '10.0.0.1', rec)).not.toThrow()
    expect(() => checkDetectedAddress(APP, explicit, '192.0.2.2', rec)).not.toThrow()
    expect(() => checkDetectedAddress(APP, detected, '192.0.2.2', undefined)).not.toThrow() // first deploy: nothing to move
  })

  it('a prefix move is refused (exit 11) only while fewer live gateways watch the new prefix than the old one', () => {
    const instances = [{ name: 'web-r1-1', running: true, registered: true, prefix: 'old' }]
    const gw = (counts: Record<string, number>) => (p: string) => new Set(Array.from({ length: counts[p] ?? 0 }, (_, i) => `g${i}`))
    const err = catchError(() => checkPrefixMove(APP, 'new', instances, gw({ old: 1 })))
    expect(err.exit).toBe(EXIT.gatewaysMissing)
    expect(err.message).toContain('announce.prefix moves from /old/ to /new/')
    expect(err.suggestion).toContain('forrest gateway --prefix new')
    expect(() => checkPrefixMove(APP, 'new', instances, gw({ old: 1, new: 1 }))).not.toThrow()
    expect(() => checkPrefixMove(APP, 'new', instances, gw({}))).not.toThrow() // plain confd: rolled within the bounds
    expect(() => checkPrefixMove(APP, 'new', [{ ...instances[0]!, registered: false }], gw({ old: 1 }))).not.toThrow()
  })
})

function catchError(fn: () => unknown): ForrestError {
  try {
    fn()
  } catch (err) {
    return err as ForrestError
  }
  throw new Error('expected an error')
}
