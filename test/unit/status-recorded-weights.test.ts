import { describe, expect, it } from 'vitest'
import { LABEL } from '../../src/labels.js'
import type { RevisionRecord } from '../../src/registry/records.js'
import { notConvergedHint, standbyLine } from '../../src/report/status-format.js'
import { classifyApp, type AppObservation } from '../../src/verbs/status-drift.js'

// A blue/green standby when no gateway acknowledges (the gateway stopped, or the trial's deploy on a
// prefix no gateway watches): status reads forrest's own weight records (/forrest/weights/...), so it
// never calls the standby "old revision" and hints "deploy the file again", which retires it.
describe('forrest status: a blue/green standby with no gateway acks, from forrest weight records', () => {
  const spec = { name: 'wng-bg', image: 'x:1', health: { type: 'none' }, announce: { prefix: 'p' } }
  const rev = (revision: number) => ({ revision, spec, imageId: 'sha256:x', templateHash: 'h', createdAt: 'x', author: 'ci', outcome: 'succeeded', changes: [] }) as unknown as RevisionRecord
  const container = (name: string, revision: number, port: number) => ({ id: `c-${name}`, name, image: 'x:1', imageId: 'sha256:x', labels: { [LABEL.revision]: String(revision) }, running: true, state: 'running', createdAt: new Date(0), hostPort: port })
  const names = ['wng-bg-r1-1', 'wng-bg-r3-1']
  const observation = (recordedWeights?: Map<string, number>): AppObservation => ({
    app: 'wng-bg',
    current: { revision: 3, replicas: 1, updatedAt: 'x', by: 'ci', standby: { revision: 1, until: '2999-01-01T00:00:00.000Z' } },
    revisions: [rev(1), rev(3)],
    containers: [container(names[0]!, 1, 30001), container(names[1]!, 3, 30002)],
    keys: new Map([[names[0]!, '127.0.0.1:30001'], [names[1]!, '127.0.0.1:30002']]),
    gateways: [],
    ...(recordedWeights ? { recordedWeights } : {}),
  })

  it('the standby at recorded weight 0 is the standby: converged, no old-revision drift, no hint', () => {
    const s = classifyApp(observation(new Map([[names[0]!, 0]])), new Map(), 0)
    expect(s.drift).toEqual([])
    expect(s.converged).toBe(true)
    expect(s.standby).toMatchObject({ revision: 1, instances: [names[0]] })
    expect(s.instances.find((i) => i.name === names[0])).toMatchObject({ recordedWeight: 0 })
    expect(s.instances.find((i) => i.name === names[0])!.weight).toBeUndefined()
    expect(s.standby?.weightFrom).toBe('records')
    expect(standbyLine('wng-bg', 3, s.standby!, new Date('2026-12-06T15:00:00Z'))).toMatch(/^blue\/green: revision 3 serves; revision 1 stands by at weight 0 \(wng-bg-r1-1\) in forrest's weight records; no live gateway reports HAProxy's weights for it/)
  })

  it('without a weight record it stays old-revision drift, as before', () => {
    const s = classifyApp(observation(), new Map(), 0)
    expect(s.drift.map((d) => d.message)).toEqual([`${names[0]}: runs revision 1, the current revision is 3`])
    expect(s.standby).toBeUndefined()
    expect(notConvergedHint([s])).toMatch(/deploy the file again/i)
  })

  it('a gateway\'s read-back weight wins over the record', () => {
    const o = { ...observation(new Map([[names[0]!, 0]])), gateways: [{ id: 'g1', host: 'lb', revision: 9, weights: { [names[0]!]: 100, [names[1]!]: 100 } }] }
    const s = classifyApp(o, new Map(), 0)
    expect(s.standby).toBeUndefined()
    expect(s.drift.map((d) => d.kind)).toEqual(['old-revision'])
  })
})
