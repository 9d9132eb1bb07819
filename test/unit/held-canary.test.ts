/** A canary held by update.canary.pause, in the pure parts: which revision is held, what status, the plan and the hint say. */
import { describe, expect, it } from 'vitest'
import type { ContainerInfo } from '../../src/docker/runtime.js'
import { forrestLabels } from '../../src/labels.js'
import { instanceName, planRollout, type ObservedInstance } from '../../src/plan/index.js'
import type { Outcome, RevisionRecord } from '../../src/registry/records.js'
import { heldCanaryNote, heldRevision } from '../../src/engine/held-canary.js'
import { classifyApp, type ProbeResult } from '../../src/verbs/status-drift.js'
import { formatStatus, notConvergedHint } from '../../src/report/status-format.js'
import { launchedStatus } from '../../src/verbs/status-launched.js'
import type { DeploymentSpec } from '../../src/spec/types.js'

const APP = 'nc1'
const NOW = Date.parse('2026-12-01T12:00:00Z')
const rev = (revision: number, outcome: Outcome): RevisionRecord => ({
  revision,
  spec: { name: APP, image: `web:${revision}`, replicas: 2, health: { type: 'http', path: '/', status: 200 }, announce: { prefix: 'app/servers' } } as unknown as DeploymentSpec,
  imageId: `sha256:${revision}`,
  templateHash: `h${revision}`,
  createdAt: 'x',
  author: 'ci',
  outcome,
  changes: [],
})
const container = (name: string, revision: number, kind: 'rollout' | 'launch' = 'rollout'): ContainerInfo => ({
  id: `${name.replace(/\W/g, '')}0123456789abcdef`,
  name,
  image: kind === 'launch' ? 'demo/myapp:1' : `web:${revision}`,
  imageId: 'sha256:x',
  labels: forrestLabels({ owner: 'c1/forrest', app: APP, kind, revision, prefix: 'app/servers' }),
  running: true,
  state: 'running',
  hostPort: 31000 + revision,
  createdAt: new Date(NOW - 90_000),
})

describe('heldRevision', () => {
  it('is the newest waiting revision newer than the current one', () => {
    expect(heldRevision([rev(4, 'succeeded'), rev(5, 'waiting')], 4)?.revision).toBe(5)
    expect(heldRevision([rev(4, 'succeeded'), rev(5, 'waiting'), rev(6, 'waiting')], 4)?.revision).toBe(6)
  })
  it('is none once a newer revision is current, or nothing waits', () => {
    expect(heldRevision([rev(5, 'waiting'), rev(6, 'succeeded')], 6)).toBeUndefined()
    expect(heldRevision([rev(4, 'succeeded'), rev(5, 'rolled-back')], 4)).toBeUndefined()
  })
})

describe('plan notes around a held canary', () => {
  it('abort says it returns to the stable revision from the held one', () => {
    expect(heldCanaryNote(APP, { kind: 'abort' }, 5, 4, ['nc1-r5-1'])).toBe('abort nc1: return to revision 4 (the stable one) from revision 5, held after its canary: retire its canary instance (nc1-r5-1)')
  })
  it('a deploy says it retires the held canary, and how to continue it instead', () => {
    const note = heldCanaryNote(APP, { kind: 'deploy' }, 5, 6, ['nc1-r5-1', 'nc1-r5-2'])!
    expect(note).toContain('revision 5 is held after its canary: this deploy retires its 2 canary instances (nc1-r5-1, nc1-r5-2) and rolls to revision 6 instead')
    expect(note).toContain('forrest promote nc1')
  })
  it('scale and rollback say they retire it too', () => {
    expect(heldCanaryNote(APP, { kind: 'scale' }, 5, 4, ['nc1-r5-1'])).toBe('revision 5 is held after its canary: this scale retires its canary instance (nc1-r5-1); to continue revision 5 instead, run forrest promote nc1')
  })
  it('the planner never says "from revision 4 to revision 4"', () => {
    const canary: ObservedInstance = { name: instanceName(APP, 5, 1), containerId: 'c5', revision: 5, running: true, registered: true, address: '10.0.0.1:30005' }
    const stable = [1, 2].map((o): ObservedInstance => ({ name: instanceName(APP, 4, o), containerId: `c4${o}`, revision: 4, running: true, registered: true, address: `10.0.0.1:3000${o}` }))
    const plan = planRollout({ revision: 4, replicas: 2, maxSurge: 1, maxUnavailable: 0, order: 'start-first' }, { app: APP, currentRevision: 4, instances: [...stable, canary] })
    expect(plan.notes.join('\n')).not.toContain('from revision 4 to revision 4')
    expect(plan.notes[0]).toBe('bring nc1 back to revision 4: retire 1 instance of revision 5 (start-first, maxSurge 1, maxUnavailable 0)')
  })
})

describe('status while a canary is held', () => {
  const containers = [container('nc1-r4-1', 4), container('nc1-r4-2', 4), container('nc1-r5-1', 5)]
  const keys = new Map(containers.map((c) => [c.name, `10.0.0.1:${c.hostPort}`]))
  const probes = new Map<string, ProbeResult>(containers.map((c) => [c.name, { ok: true, detail: 'HTTP 200' }]))
  const status = classifyApp({ app: APP, current: { revision: 4, replicas: 2, updatedAt: 'x', by: 'ci' }, revisions: [rev(4, 'succeeded'), rev(5, 'waiting')], containers, keys }, probes, NOW)

  it('names the hold instead of an old-revision drift, and points at promote / abort', () => {
    expect(status.held).toEqual({ revision: 5, instances: ['nc1-r5-1'] })
    expect(status.drift.map((d) => d.kind)).toEqual(['canary-held'])
    expect(status.drift[0]!.message).toContain('revision 5 is held after its canary (update.canary.pause): 1 canary instance of it serves beside revision 4')
    expect(formatStatus({ apps: [status], converged: false })[0]).toContain('CANARY HELD (revision 5 waits for promote or abort)')
  })
  it('the hint is promote / abort, never "deploy the file again"', () => {
    const hint = notConvergedHint([status])
    expect(hint).toBe('nc1 holds revision 5 after its canary: continue it with `forrest promote nc1`, or retire the canary with `forrest abort nc1`.')
    const other = { ...status, app: 'web', held: undefined }
    // Revision 4 is its first good one: `forrest rollback` would refuse, so it is not offered (trial-messages.test.ts).
    expect(notConvergedHint([other])).toBe('Deploy the file again to converge (forrest deploy FILE).')
    expect(notConvergedHint([status, other])).toContain('web: deploy the file again')
  })
})

describe('status lists forrest launch containers', () => {
  it('with their address when registered, and never as drift', () => {
    const c = container('sharp_mccarthy', 1, 'launch')
    expect(launchedStatus(c, '10.0.0.1:31001')).toEqual({ name: 'sharp_mccarthy', container: 'sharp_mccart', image: 'demo/myapp:1', state: 'running', address: '10.0.0.1:31001', registered: true, prefix: 'app/servers' })
    const lines = formatStatus({ apps: [], launched: [launchedStatus(c, null)], converged: true })
    expect(lines[0]).toBe('No apps deployed with forrest yet.')
    expect(lines).toContain('Started with forrest launch (not managed by deploy; forrest stop NAME removes one):')
    expect(lines.join('\n')).toMatch(/sharp_mccarthy\s.*demo\/myapp:1\s.*running\s.*-\s.*no/)
  })
})
