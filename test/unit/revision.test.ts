import { describe, expect, it } from 'vitest'
import type { CurrentRecord, RevisionRecord } from '../../src/registry/records.js'
import { decideRevision } from '../../src/engine/revision.js'
import { loadSpec } from '../../src/spec/load.js'
import { specTemplateHash } from '../../src/spec/template-hash.js'

const spec = (image: string, replicas = 3) => ({ ...loadSpec(`name: a\nimage: ${image}\nreplicas: ${replicas}\nport: 8080\n`, 'a.yml') })
const now = new Date('2026-11-25T10:00:00Z')
const rec = (revision: number, image: string, imageId: string, outcome: RevisionRecord['outcome'] = 'succeeded'): RevisionRecord => ({
  revision,
  spec: spec(image),
  imageId,
  templateHash: specTemplateHash(spec(image), imageId),
  createdAt: now.toISOString(),
  author: 'x',
  outcome,
  changes: [],
})
const current = (revision: number, replicas = 3): CurrentRecord => ({ revision, replicas, updatedAt: now.toISOString(), by: 'x' })
const req = (image: string, imageId: string, extra: Partial<Parameters<typeof decideRevision>[0]> = {}) => ({ kind: 'deploy' as const, spec: spec(image), imageId, replicas: 3, actor: 'ci', secretFingerprints: {}, ...extra })

describe('decideRevision', () => {
  it('starts at revision 1 when nothing was deployed', () => {
    const d = decideRevision(req('demo/myapp:1', 'sha256:1'), undefined, [], now)
    expect(d).toMatchObject({ revision: 1, reuse: false, changes: ['first revision'] })
    expect(d.target).toMatchObject({ revision: 1, outcome: 'in-progress', author: 'ci', imageId: 'sha256:1', createdAt: now.toISOString() })
  })
  it('reuses the current revision when only replicas change', () => {
    const d = decideRevision(req('demo/myapp:1', 'sha256:1', { replicas: 5 }), current(1), [rec(1, 'demo/myapp:1', 'sha256:1')], now)
    expect(d).toMatchObject({ revision: 1, reuse: true, changes: ['replicas 3 → 5'] })
  })
  it('a new image makes max + 1, even above failed revisions', () => {
    const revs = [rec(1, 'demo/myapp:1', 'sha256:1'), rec(2, 'demo/myapp:bad', 'sha256:b', 'rolled-back')]
    const d = decideRevision(req('demo/myapp:2', 'sha256:2'), current(1), revs, now)
    expect(d).toMatchObject({ revision: 3, reuse: false, changes: ['image demo/myapp:1 → demo/myapp:2'] })
  })
  it('a moved tag (same name, new image id) is a new revision', () => {
    const d = decideRevision(req('demo/myapp:1', 'sha256:new'), current(1), [rec(1, 'demo/myapp:1', 'sha256:old')], now)
    expect(d.reuse).toBe(false)
    expect(d.revision).toBe(2)
  })
  it('a rollback is always a new revision that says what it restored', () => {
    const revs = [rec(1, 'demo/myapp:1', 'sha256:1'), rec(2, 'demo/myapp:2', 'sha256:2')]
    const d = decideRevision(req('demo/myapp:1', 'sha256:1', { kind: 'rollback', restoredFrom: 1 }), current(2), revs, now)
    expect(d).toMatchObject({ revision: 3, reuse: false })
    expect(d.target.restoredFrom).toBe(1)
    expect(d.changes[0]).toBe('rollback to revision 1')
  })
})

describe('secrets in revisions', () => {
  const withSecret = (fp: string) => req('demo/myapp:1', 'sha256:1', { spec: { ...spec('demo/myapp:1'), env: { DB_PASSWORD: { fromEnv: 'DB_PASSWORD' } } }, secretFingerprints: { DB_PASSWORD: fp } })

  it('a changed secret (another fingerprint) makes a new revision, shown by name only', () => {
    const first = decideRevision(withSecret('fp-a'), undefined, [], now)
    const prev = { ...first.target, outcome: 'succeeded' as const }
    expect(decideRevision(withSecret('fp-a'), current(1), [prev], now)).toMatchObject({ revision: 1, reuse: true })
    const changed = decideRevision(withSecret('fp-b'), current(1), [prev], now)
    expect(changed).toMatchObject({ revision: 2, reuse: false, changes: ['env ~DB_PASSWORD'] })
    expect(changed.target.secretFingerprints).toEqual({ DB_PASSWORD: 'fp-b' })
    expect(changed.target.spec.env).toEqual({ DB_PASSWORD: { fromEnv: 'DB_PASSWORD' } })
  })
})
