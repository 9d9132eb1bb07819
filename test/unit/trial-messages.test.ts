import { describe, expect, it } from 'vitest'
import { describeLeftover } from '../../src/engine/leftover.js'
import { ForrestError } from '../../src/errors.js'
import { parseScaleArgs } from '../../src/verbs/scale-counts.js'
import { chooseRollbackTarget } from '../../src/verbs/rollback.js'
import type { RevisionRecord } from '../../src/registry/records.js'
import { waitingRevision } from '../../src/verbs/promote.js'
import { notConvergedHint } from '../../src/report/status-format.js'
import { registryError } from '../../src/docker/registry-errors.js'
import { classifyApp } from '../../src/verbs/status-drift.js'
import { LABEL } from '../../src/labels.js'

// Messages found wrong or unhelpful by trying the new features as a new user (brief: trial).
describe('an interrupted deploy of an app with workers says what it left', () => {
  const web = (name: string, revision: number, registered = true) => ({ name, revision, registered, running: true })
  const worker = (name: string, revision: number) => ({ name, revision, registered: false, running: true, process: 'worker' })

  it('counts workers on their own, never as instances "running but not registered"', () => {
    const text = describeLeftover([web('shop-r2-1', 2), web('shop-r1-2', 1), worker('shop-worker-r1-1', 1), worker('shop-worker-r1-2', 1)], 2, 1)
    expect(text).toMatch(/^left: 1 instance of revision 2 \(new\), 1 of revision 1 \(old\); all registered; worker: 0 of revision 2 \(new\), 2 of revision 1 \(old\) \(worker, never registered\)\./)
    expect(text).not.toContain('not registered (')
    expect(text).not.toContain('adopts an unregistered one')
  })

  it('still names a web instance that runs unregistered', () => {
    const text = describeLeftover([web('shop-r2-1', 2, false), web('shop-r1-1', 1), worker('shop-worker-r2-1', 2)], 2, 1)
    expect(text).toContain('1 instance running but not registered (shop-r2-1: no traffic)')
    expect(text).toContain('worker: 1 of revision 2 (new) (worker, never registered)')
  })
})

describe('forrest scale: a mistyped count names the app in its hint and says nothing was changed', () => {
  const refusal = (args: string[], app?: string): ForrestError => {
    try {
      parseScaleArgs(args, app)
    } catch (err) {
      expect(err).toMatchObject({ code: 'BAD_INPUT', exit: 2 })
      return err as ForrestError
    }
    throw new Error('expected BAD_INPUT')
  }

  it('worker= / worker=-1 / worker=abc: the count is wrong, and the hint is for this app, not myapp', () => {
    for (const arg of ['worker=', 'worker=-1', 'worker=abc']) {
      const err = refusal([arg], 'trial-shop')
      expect(err.message).toBe(`the count of worker must be a whole number >= 0, got "${arg}"; nothing was changed`)
      expect(err.suggestion).toBe('forrest scale trial-shop N (one process), or forrest scale trial-shop PROCESS=N... e.g. forrest scale trial-shop worker=5')
    }
  })

  it('a process given twice names both values and says nothing was changed', () => {
    const err = refusal(['worker=3', 'web=3', 'web=2'], 'trial-shop')
    expect(err.message).toBe('process web is given twice (web=3 and web=2); nothing was changed')
    expect(err.suggestion).toBe('give each process once, e.g. forrest scale trial-shop web=2')
  })

  it('no count, or a negative bare count: nothing was changed', () => {
    expect(refusal([], 'a').message).toBe('scale needs a replica count; nothing was changed')
    expect(refusal(['-1'], 'a').message).toBe('replica count must be a whole number >= 0, got "-1"; nothing was changed')
  })
})

describe('forrest rollback after an interrupted deploy: the hint can work', () => {
  // Revision 2 was interrupted (failed), revision 1 is current: `--to 1` is "already current",
  // so "name one with --to" led nowhere; deploying revision 1's file again converges.
  const rec = (revision: number, outcome: 'succeeded' | 'failed') => ({ revision, outcome, templateHash: `h${revision}` }) as unknown as RevisionRecord
  const revs = [rec(1, 'succeeded'), rec(2, 'failed')]
  const refusal = (to?: number): ForrestError => {
    try {
      chooseRollbackTarget('trial-shop', revs, revs[0]!, to)
    } catch (err) {
      return err as ForrestError
    }
    throw new Error('expected a refusal')
  }

  it('no earlier revision: says the current one is brought back by deploying its file, and names the others for --to', () => {
    const err = refusal()
    expect(err).toMatchObject({ code: 'REVISION_NOT_FOUND', exit: 8 })
    expect(err.message).toBe('trial-shop has no earlier successful revision to roll back to (current: revision 1); nothing was changed')
    expect(err.suggestion).toBe(
      'Recorded revisions: 1 (succeeded), 2 (failed). Revision 1 is current: to bring every instance back to it, deploy its file again (forrest deploy FILE). To run another revision: forrest rollback trial-shop --to 2.',
    )
  })

  it('--to the current revision: the same way back, and nothing was changed', () => {
    const err = refusal(1)
    expect(err).toMatchObject({ code: 'BAD_INPUT', exit: 2 })
    expect(err.message).toBe('revision 1 is already the current revision of trial-shop; nothing was changed')
    expect(err.suggestion).toContain('Revision 1 is current: to bring every instance back to it, deploy its file again (forrest deploy FILE).')
  })
})

describe('forrest status: a worker without a health command reads plainly', () => {
  // "healthy (running (health: none))" for a worker with health.running: 10s was wrong (its health is not none) and nested.
  const spec = { name: 'shop', image: 'x:1', health: { type: 'http', path: '/' }, announce: { prefix: 'p' }, processes: { worker: { replicas: 1, health: { type: 'none', running: 10_000 } } } }
  const rev1 = { revision: 1, spec, imageId: 'sha256:x', templateHash: 'h', createdAt: 'x', author: 'ci', outcome: 'succeeded', changes: [] } as unknown as RevisionRecord
  const worker = { id: 'c1', name: 'shop-worker-r1-1', image: 'x:1', imageId: 'sha256:x', labels: { [LABEL.process]: 'worker', [LABEL.revision]: '1' }, running: true, state: 'running', createdAt: new Date(0) }

  it('says the worker runs and passed health.running, with no nested "(health: none)"', () => {
    const s = classifyApp({ app: 'shop', current: { revision: 1, replicas: 0, updatedAt: 'x', by: 'ci' }, revisions: [rev1], containers: [worker], keys: new Map() }, new Map(), 0)
    const i = s.instances.find((x) => x.name === 'shop-worker-r1-1')!
    expect(i.health).toBe('healthy')
    expect(i.healthDetail).toBe('running, passed health.running when it started')
  })
})

describe('registry credentials refused: the hint names where forrest took them from, in its order', () => {
  // With FORREST_REGISTRY_AUTH_FILE set, "docker login" cannot help (the file comes first), yet was the only fix offered.
  it('names FORREST_REGISTRY_AUTH_FILE as well as the env credentials and docker login, in the order forrest reads them', () => {
    const err = registryError('cannot resolve', '10.213.0.1:5443/demo/myapp:2', '10.213.0.1:5443', 401, 'unauthorized: authentication required', 'user lab')!
    expect(err).toMatchObject({ code: 'REGISTRY_AUTH_FAILED', exit: 16 })
    expect(err.suggestion).toBe(
      'Fix the credentials forrest sent to 10.213.0.1:5443, from the first of: FORREST_REGISTRY_USER with FORREST_REGISTRY_PASSWORD (or FORREST_REGISTRY_PASSWORD_FILE) when FORREST_REGISTRY_SERVER=10.213.0.1:5443; the "10.213.0.1:5443" entry of the file FORREST_REGISTRY_AUTH_FILE names, when it is set; docker login 10.213.0.1:5443 (the docker CLI\'s config.json and its credential helpers).',
    )
  })
})

describe('forrest status, not converged: rollback is offered only when it has a revision to go to', () => {
  const spec = { name: 'one', image: 'x:1', health: { type: 'none' }, announce: { prefix: 'p' } }
  const rev = (revision: number) => ({ revision, spec, imageId: 'sha256:x', templateHash: `h${revision}`, createdAt: 'x', author: 'ci', outcome: 'succeeded', changes: [] }) as unknown as RevisionRecord
  // desired 2, nothing running: not converged.
  const statusOf = (revisions: RevisionRecord[]) => classifyApp({ app: 'one', current: { revision: revisions.length, replicas: 2, updatedAt: 'x', by: 'ci' }, revisions, containers: [], keys: new Map() }, new Map(), 0)

  it('an app with one revision: deploy again, never "forrest rollback" (it would refuse)', () => {
    const s = statusOf([rev(1)])
    expect(s.converged).toBe(false)
    expect(notConvergedHint([s])).toBe('Deploy the file again to converge (forrest deploy FILE).')
  })

  it('an app with an earlier good revision: rollback is offered as before', () => {
    expect(notConvergedHint([statusOf([rev(1), rev(2)])])).toBe('Deploy the file again to converge (forrest deploy FILE), or roll back (forrest rollback APP).')
  })
})

describe('forrest promote / abort with nothing held', () => {
  it('says nothing was changed, and names both holds a deploy can make (canary and blue/green pause)', () => {
    let err: ForrestError | undefined
    try {
      waitingRevision('trial-can', [{ revision: 1, outcome: 'succeeded' } as unknown as RevisionRecord], 1)
    } catch (e) {
      err = e as ForrestError
    }
    expect(err).toMatchObject({ code: 'REVISION_NOT_FOUND', exit: 8 })
    expect(err!.message).toBe('trial-can has no rollout waiting for promotion (current revision 1); nothing was changed')
    expect(err!.suggestion).toBe('forrest history trial-can shows the revisions; a deploy holds for promote or abort only with update.canary.pause: true (after its canary) or update.blueGreen.pause: true (before the switch).')
  })
})
