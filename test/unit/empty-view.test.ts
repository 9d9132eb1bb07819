import { describe, expect, it } from 'vitest'
import { emptyViewDecision, type AppRecords } from '../../src/gateway/empty-view.js'
import type { CurrentRecord, Outcome, RevisionRecord, TargetRecord } from '../../src/registry/records.js'

const rev = (revision: number, prefix: string, outcome: Outcome = 'succeeded') => ({ revision, outcome, spec: { announce: { prefix } } }) as unknown as RevisionRecord
const cur = (revision: number, replicas: number): CurrentRecord => ({ revision, replicas, updatedAt: '2026-01-01T00:00:00Z', by: 'me' })
const tgt = (revision: number, replicas = 0): TargetRecord => ({ revision, replicas, at: '2026-01-01T00:00:00Z', by: 'me' })
const records = (apps: Record<string, { current?: CurrentRecord; target?: TargetRecord; revisions: RevisionRecord[] }>): AppRecords => {
  const r: AppRecords = { current: new Map(), revisions: new Map(), targets: new Map() }
  for (const [app, a] of Object.entries(apps)) {
    if (a.current) r.current.set(app, a.current)
    if (a.target) r.targets.set(app, a.target)
    for (const x of a.revisions) r.revisions.set(`${app}/${x.revision}`, x)
  }
  return r
}

describe('the empty-view guard: may a prefix go empty?', () => {
  it('no while the app there still has replicas and no rollout recorded a target of 0 (the withdrawal of a scale to 2, say)', () => {
    expect(emptyViewDecision(records({ web: { current: cur(1, 2), revisions: [rev(1, 'web/servers')] } }), 'web/servers')).toBe(false)
  })

  it('yes while a rollout to 0 is under way: its target of 0 instances of a revision announced there is recorded', () => {
    expect(emptyViewDecision(records({ web: { current: cur(1, 2), target: tgt(1), revisions: [rev(1, 'web/servers')] } }), 'web/servers')).toBe(true)
    // a deploy with replicas: 0 to a new revision, before its first withdrawal
    expect(emptyViewDecision(records({ web: { current: cur(1, 2), target: tgt(2), revisions: [rev(1, 'web/servers'), rev(2, 'web/servers', 'in-progress')] } }), '/web/servers/')).toBe(true)
    // the first run of an app (no current record yet), going to 0 after a killed run left instances
    expect(emptyViewDecision(records({ web: { target: tgt(1), revisions: [rev(1, 'web/servers', 'in-progress')] } }), 'web/servers')).toBe(true)
  })

  it('yes once the records say the app was settled at 0 there', () => {
    expect(emptyViewDecision(records({ web: { current: cur(1, 0), revisions: [rev(1, 'web/servers')] } }), 'web/servers')).toBe(true)
  })

  it('no on a prefix no app is at (a wrong --prefix), even while an app elsewhere goes to 0', () => {
    const r = records({ web: { current: cur(1, 2), target: tgt(1), revisions: [rev(1, 'web/servers')] } })
    expect(emptyViewDecision(r, 'other/servers')).toBe(false)
    expect(emptyViewDecision(records({}), 'web/servers')).toBe(false)
  })

  it('no when a target is not 0, or names a revision with no record', () => {
    expect(emptyViewDecision(records({ web: { current: cur(1, 2), target: tgt(1, 1), revisions: [rev(1, 'web/servers')] } }), 'web/servers')).toBe(false)
    expect(emptyViewDecision(records({ web: { current: cur(1, 2), target: tgt(7), revisions: [rev(1, 'web/servers')] } }), 'web/servers')).toBe(false)
  })

  it('no while another app shares the prefix with replicas: every app there must be at 0', () => {
    const r = records({
      web: { current: cur(1, 2), target: tgt(1), revisions: [rev(1, 'shared/servers')] },
      api: { current: cur(3, 1), revisions: [rev(3, 'shared/servers')] },
    })
    expect(emptyViewDecision(r, 'shared/servers')).toBe(false)
  })

  it('yes on either prefix while a rollout in progress moves the app between them', () => {
    const r = records({ web: { current: cur(1, 2), revisions: [rev(1, 'web/old'), rev(2, 'web/new', 'in-progress')] } })
    expect(emptyViewDecision(r, 'web/old')).toBe(true)
    expect(emptyViewDecision(r, 'web/new')).toBe(true)
  })
})
