import { describe, expect, it } from 'vitest'
import type { ContainerInfo } from '../../src/docker/runtime.js'
import { ForrestError } from '../../src/errors.js'
import { forrestLabels } from '../../src/labels.js'
import type { CurrentRecord, Outcome, RevisionRecord } from '../../src/registry/records.js'
import { formatHistory, historyEntries } from '../../src/verbs/history.js'
import { chooseRollbackTarget } from '../../src/verbs/rollback.js'
import { scaleOverrideNote } from '../../src/engine/make-plan.js'
import { classifyApp, ownKeys, probeTargets, type AppObservation, type ProbeResult } from '../../src/verbs/status-drift.js'
import { formatStatus, formatUptime } from '../../src/report/status-format.js'
import type { DeploymentSpec } from '../../src/spec/types.js'

const APP = 'web'
const spec = (image: string): DeploymentSpec => ({
  name: APP,
  image,
  pull: 'missing',
  replicas: 2,
  port: 8080,
  env: {},
  labels: {},
  announce: { prefix: 'app/servers', address: '10.0.0.1' },
  health: { type: 'http', path: '/health', status: 200, interval: 100, timeout: 5000, successes: 1, deadline: 5000 },
  update: { order: 'start-first', maxSurge: 1, maxUnavailable: 0, soak: 0, drain: 100, stopGracePeriod: 1000, onFailure: 'rollback', progressDeadline: 60_000 },
  gateways: { required: 0, timeout: 30_000 },
  hostPorts: { from: 20_000, to: 29_999 },
})
const rev = (revision: number, outcome: Outcome, hash = `h${revision}`, image = `web:${revision}`): RevisionRecord => ({
  revision,
  spec: spec(image),
  imageId: `sha256:${String(revision).repeat(64).slice(0, 64)}`,
  templateHash: hash,
  createdAt: `2024-01-0${revision}T00:00:00.000Z`,
  author: 'ci',
  outcome,
  changes: [`change ${revision}`],
})

describe('chooseRollbackTarget', () => {
  it('picks the newest earlier revision that succeeded, skipping rolled-back and failed ones', () => {
    const revs = [rev(1, 'succeeded'), rev(2, 'succeeded'), rev(3, 'rolled-back'), rev(4, 'failed'), rev(5, 'succeeded')]
    expect(chooseRollbackTarget(APP, revs, revs[4]!).revision).toBe(2)
  })

  it('skips revisions that run the same thing as the current one (e.g. the one the current rollback restored)', () => {
    const revs = [rev(1, 'succeeded', 'A'), rev(2, 'succeeded', 'B'), { ...rev(3, 'succeeded', 'A'), restoredFrom: 1 }]
    expect(chooseRollbackTarget(APP, revs, revs[2]!).revision).toBe(2)
  })

  it('never picks a revision newer than the current one', () => {
    const revs = [rev(1, 'succeeded'), rev(2, 'succeeded'), rev(3, 'succeeded')]
    expect(chooseRollbackTarget(APP, revs, revs[1]!).revision).toBe(1)
  })

  it('--to names any recorded revision; unknown → REVISION_NOT_FOUND listing them; current → BAD_INPUT', () => {
    const revs = [rev(1, 'succeeded'), rev(2, 'failed'), rev(3, 'succeeded')]
    expect(chooseRollbackTarget(APP, revs, revs[2]!, 2).revision).toBe(2)
    const unknown = catchError(() => chooseRollbackTarget(APP, revs, revs[2]!, 9))
    expect(unknown.code).toBe('REVISION_NOT_FOUND')
    expect(unknown.exit).toBe(8)
    expect(unknown.suggestion).toContain('1 (succeeded), 2 (failed), 3 (succeeded)')
    expect(catchError(() => chooseRollbackTarget(APP, revs, revs[2]!, 3)).code).toBe('BAD_INPUT')
  })

  it('no earlier good revision → REVISION_NOT_FOUND', () => {
    const revs = [rev(1, 'failed'), rev(2, 'succeeded')]
    expect(catchError(() => chooseRollbackTarget(APP, revs, revs[1]!)).code).toBe('REVISION_NOT_FOUND')
  })
})

describe('scaleOverrideNote', () => {
  const current: CurrentRecord = { revision: 2, replicas: 5, updatedAt: 'x', by: 'ci', scaled: { replicas: 5, at: '2024-05-01T10:00:00Z', by: 'alice@ops' } }
  it('says the file wins over forrest scale, with when and who', () => {
    expect(scaleOverrideNote(current, 3)).toBe('replicas 5 (set by forrest scale at 2024-05-01T10:00:00Z by alice@ops) → 3 (from the file)')
  })
  it('says nothing when the counts agree or nothing was scaled', () => {
    expect(scaleOverrideNote(current, 5)).toBeUndefined()
    expect(scaleOverrideNote({ ...current, scaled: undefined }, 3)).toBeUndefined()
    expect(scaleOverrideNote(undefined, 3)).toBeUndefined()
  })
})

describe('status drift classification', () => {
  const NOW = Date.parse('2024-06-01T12:00:00Z')
  const container = (name: string, revision: number, hostPort: number, over: Partial<ContainerInfo> = {}): ContainerInfo => ({
    id: `${name.replace(/\W/g, '')}0123456789abcdef`,
    name,
    image: 'web',
    imageId: 'sha256:x',
    labels: forrestLabels({ owner: 'c1/forrest', app: APP, kind: 'rollout', revision, prefix: 'app/servers' }),
    running: true,
    state: 'running',
    hostPort,
    createdAt: new Date(NOW - 90_000),
    ...over,
  })
  const obs = (containers: ContainerInfo[], keys: Array<[string, string]>, over: Partial<AppObservation> = {}): AppObservation => ({
    app: APP,
    current: { revision: 2, replicas: 2, updatedAt: 'x', by: 'ci' },
    revisions: [rev(1, 'succeeded'), rev(2, 'succeeded')],
    containers,
    keys: new Map(keys),
    ...over,
  })
  const ok = (...names: string[]) => new Map<string, ProbeResult>(names.map((n) => [n, { ok: true, detail: 'HTTP 200' }]))

  it('converged: every instance of the current revision running, registered and healthy', () => {
    const s = classifyApp(obs([container('web-r2-1', 2, 31001), container('web-r2-2', 2, 31002)], [['web-r2-1', '10.0.0.1:31001'], ['web-r2-2', '10.0.0.1:31002']]), ok('web-r2-1', 'web-r2-2'), NOW)
    expect(s.drift).toEqual([])
    expect(s).toMatchObject({ converged: true, desired: 2, healthy: 2, registered: 2, running: 2 })
    expect(s.instances[0]).toMatchObject({ name: 'web-r2-1', container: 'webr21012345', address: '10.0.0.1:31001', revision: 2, health: 'healthy', uptimeSeconds: 90 })
  })

  it('reports each kind of drift', () => {
    const s = classifyApp(
      obs(
        [
          container('web-r2-1', 2, 31001),
          container('web-r2-2', 2, 31002, { running: false, state: 'exited' }),
          container('web-r2-3', 2, 31003),
          container('web-r1-1', 1, 31004),
          container('web-r2-4', 2, 31005),
        ],
        [['web-r2-1', '10.0.0.1:31001'], ['web-r2-2', '10.0.0.1:31002'], ['web-r1-1', '10.0.0.1:31004'], ['web-r2-9', '10.0.0.1:31009'], ['web-r2-4', '10.0.0.1:39999']],
      ),
      new Map([...ok('web-r2-1', 'web-r1-1', 'web-r2-4'), ['web-r2-3', { ok: false, detail: 'HTTP 500' }]]),
      NOW,
    )
    const kinds = s.drift.map((d) => [d.kind, d.instance])
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['stopped-container', 'web-r2-2'],
        ['container-without-key', 'web-r2-3'],
        ['unhealthy', 'web-r2-3'],
        ['old-revision', 'web-r1-1'],
        ['key-without-container', 'web-r2-9'],
        ['address-mismatch', 'web-r2-4'],
      ]),
    )
    expect(s.drift.find((d) => d.kind === 'stopped-container')!.message).toContain('still registered')
    expect(s.converged).toBe(false)
    expect(s.healthy).toBe(2) // web-r2-1 and web-r2-4; the rest are stopped, unregistered, old or missing
    expect(kinds).not.toContainEqual(['replica-count', undefined]) // 2 of 2 healthy: the count itself is right
    expect(s.instances.find((i) => i.name === 'web-r2-9')).toMatchObject({ state: 'missing', registered: true })
  })

  it('a held lock is a rollout in progress, naming the holder', () => {
    const lock = { actor: 'bob@ci', host: 'h', pid: 7, since: 's', command: 'deploy web.yml' }
    const s = classifyApp(obs([container('web-r2-1', 2, 31001), container('web-r2-2', 2, 31002)], [['web-r2-1', 'a:31001'], ['web-r2-2', 'a:31002']], { lock }), ok('web-r2-1', 'web-r2-2'), NOW)
    expect(s.drift).toEqual([{ kind: 'rollout-in-progress', message: expect.stringContaining('deploy web.yml by bob@ci') }])
    expect(s.lock).toEqual(lock)
  })

  it("other apps' keys under a shared prefix are not this app's", () => {
    const keys = new Map([['web-r2-1', 'a:1'], ['webshop-r1-1', 'a:2'], ['api-r1-1', 'a:3'], ['sharp_mccarthy', 'a:4']])
    expect([...ownKeys(APP, [], keys).keys()]).toEqual(['web-r2-1'])
  })

  it('probes registered addresses, and the published port of a running unregistered container; never a stopped one', () => {
    const targets = probeTargets(
      obs([container('web-r2-1', 2, 31001), container('web-r2-2', 2, 31002), container('web-r2-3', 2, 31003, { running: false, state: 'exited' })], [['web-r2-1', '10.0.0.1:31001']]),
      '127.0.0.1',
    )
    expect(targets.map((t) => [t.name, t.address, t.health.path])).toEqual([
      ['web-r2-1', '10.0.0.1:31001', '/health'],
      ['web-r2-2', '127.0.0.1:31002', '/health'],
    ])
  })

  it('formats a table and the out-of-step list', () => {
    const s = classifyApp(obs([container('web-r2-1', 2, 31001)], [['web-r2-1', '10.0.0.1:31001']]), ok('web-r2-1'), NOW)
    const text = formatStatus({ apps: [s], converged: false }).join('\n')
    expect(text).toContain('web: revision 2 (web:2')
    expect(text).toContain('web-r2-1')
    expect(text).toContain('Out of step:')
    expect(text).toContain('1 of 2 desired instances of revision 2 are healthy and registered')
    expect(text).not.toMatch(/\x1b\[/) // no colour codes in CI logs
  })
})

describe('history and formatting', () => {
  it('lists revisions newest first with the current one marked', () => {
    const entries = historyEntries([rev(1, 'succeeded'), rev(2, 'rolled-back'), { ...rev(3, 'succeeded'), restoredFrom: 1 }], 3)
    expect(entries.map((e) => [e.revision, e.outcome, e.current, e.restoredFrom])).toEqual([
      [3, 'succeeded', true, 1],
      [2, 'rolled-back', false, undefined],
      [1, 'succeeded', false, undefined],
    ])
  })

  it('shows a canary analysis: verdict under the outcome, figures under what changed', () => {
    const fig = { responses: 320, errors5xx: 100, errorRate: 0.3125, rtimeMs: 4 }
    const canary = {
      verdict: 'failed' as const,
      reasons: ['5xx rate 31.3% (100/320) against stable 0.0% (0/1068)'],
      windowMs: 6000,
      canary: { ...fig, instances: ['web-r2-1'] },
      stable: { responses: 1068, errors5xx: 0, errorRate: 0, rtimeMs: 4, instances: ['web-r1-1'] },
      thresholds: { minRequests: 20, maxErrorRateIncrease: 0.05, maxLatencyFactor: 2 },
    }
    const h = { app: 'web', currentRevision: 1, revisions: historyEntries([rev(1, 'succeeded'), { ...rev(2, 'rolled-back'), canary }], 1) }
    expect(h.revisions[0]!.canary?.verdict).toBe('failed')
    const text = formatHistory(h).join('\n')
    expect(text).toContain('canary failed')
    expect(text).toContain('canary 320 responses, 100 5xx (31.3%), 4 ms; stable 1068 responses, 0 5xx (0.0%), 4 ms')
  })

  it('formats uptime', () => {
    expect([formatUptime(undefined), formatUptime(5), formatUptime(65), formatUptime(3700), formatUptime(90_000)]).toEqual(['-', '5s', '1m05s', '1h01m', '1d1h'])
  })
})

function catchError(fn: () => unknown): ForrestError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ForrestError) return err
    throw err
  }
  throw new Error('expected a ForrestError')
}
