/**
 * A canary held by update.canary.pause, explained: `deploy --json` reports the hold as a designed
 * outcome (exit 19, "ok": true), `status` says the rollout is held and points at `forrest promote` /
 * `forrest abort`, `diff` says a new deploy would retire the held canary, and `abort` says it
 * returns to the stable revision from the held one. Real etcd, HAProxy, `forrest gateway`, Docker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { forrest, testRun } from '../helpers/cli.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('held')
const app = `h${run.id.slice(-6)}`
const base = { name: app, replicas: 2, 'health.interval': '100ms', 'health.deadline': '10s', 'update.stopGracePeriod': '1s', 'update.drain': '1s' }
// minRequests 0: this test is about what a held canary says, not about judging traffic (canary.test.ts does that).
const canary = { count: 1, window: '1s', minRequests: 0, maxErrorRateIncrease: 1, maxLatencyFactor: 100, pause: true }

describe('a canary held after update.canary.pause, explained (real etcd, HAProxy, Docker)', () => {
  let stack: LbStack
  let env: NodeJS.ProcessEnv
  const heldFile = () => specFile(`${app}-v2`, { ...base, image: 'demo/myapp:2', 'update.canary': canary })

  beforeAll(async () => {
    stack = await startLbStack(run)
    env = stack.env
    const first = await forrest(['deploy', specFile(`${app}-v1`, base)], env, 60_000)
    expect(first.code, first.stdout + first.stderr).toBe(0)
  }, 90_000)

  afterAll(async () => {
    await stack?.stop()
  }, 40_000)

  it('deploy --json: exit 19 is a designed outcome, "ok": true, "outcome": "waiting", with what to run next', async () => {
    const held = await forrest(['deploy', '--json', heldFile()], env, 60_000)
    expect(held.code, held.stdout + held.stderr).toBe(EXIT.waitingForPromotion)
    const json = JSON.parse(held.stdout) as Record<string, unknown>
    expect(json).toMatchObject({ ok: true, outcome: 'waiting', exit: 19, app, revision: 2, fromRevision: 1 })
    expect(json.error).toBeUndefined()
    expect(json.next).toEqual([`forrest promote ${app}`, `forrest abort ${app}`])
  }, 60_000)

  it('status says the rollout is held and hints forrest promote / forrest abort, not "deploy the file again"', async () => {
    const st = await forrest(['status', app], env)
    const out = st.stdout + st.stderr
    expect(st.code, out).toBe(EXIT.notConverged)
    expect(out).toContain(`revision 2 is held after its canary (update.canary.pause)`)
    expect(out).toContain(`forrest promote ${app}`)
    expect(out).toContain(`forrest abort ${app}`)
    expect(out).not.toMatch(/deploy the file again/i)
    expect(out).not.toContain('runs revision 2, the current revision is 1')
    const json = JSON.parse((await forrest(['status', app, '--json'], env)).stdout) as { error: { detail: { apps: Array<{ held?: { revision: number; instances: string[] } }> } } }
    expect(json.error.detail.apps[0]!.held).toMatchObject({ revision: 2 })
    expect(json.error.detail.apps[0]!.held!.instances).toHaveLength(1)
  }, 30_000)

  it('diff while held says a new deploy would retire the held canary, and how to continue it instead', async () => {
    const d = await forrest(['diff', heldFile()], env, 60_000)
    expect(d.code, d.stdout + d.stderr).toBe(0)
    expect(d.stdout).toContain(`revision 2 is held after its canary: this deploy retires its canary instance`)
    expect(d.stdout).toContain(`forrest promote ${app}`)
  }, 60_000)

  it('abort says it returns to the stable revision from the held one', async () => {
    const a = await forrest(['abort', app], env, 60_000)
    expect(a.code, a.stdout + a.stderr).toBe(0)
    expect(a.stdout).not.toContain('from revision 1 to revision 1')
    expect(a.stdout).toContain(`abort ${app}: return to revision 1 (the stable one) from revision 2, held after its canary`)
    const st = await forrest(['status', app], env)
    expect(st.code, st.stdout + st.stderr).toBe(0)
  }, 60_000)

  it('a deploy while held says it retires the canary, does, and the held revision no longer waits', async () => {
    const held = await forrest(['deploy', heldFile()], env, 60_000)
    expect(held.code, held.stdout + held.stderr).toBe(EXIT.waitingForPromotion)
    const d = await forrest(['deploy', specFile(`${app}-v1`, base)], env, 60_000)
    expect(d.code, d.stdout + d.stderr).toBe(0)
    expect(d.stdout).toContain(`revision 3 is held after its canary: this deploy retires its canary instance (${app}-r3-1) and rolls to revision 1 instead`)
    const st = await forrest(['status', app], env)
    expect(st.code, st.stdout + st.stderr).toBe(0)
    expect(st.stdout).not.toContain('held after its canary')
    expect(st.stdout).not.toContain('CANARY HELD')
    const history = JSON.parse((await forrest(['history', app, '--json'], env)).stdout) as { revisions: Array<{ revision: number; outcome: string }> }
    expect(history.revisions.find((r) => r.revision === 3)?.outcome).toBe('rolled-back')
    expect((await forrest(['promote', app], env)).code).toBe(EXIT.notFound)
  }, 90_000)
})
