import { spawn } from 'node:child_process'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { containersWithLabel, docker, forrest, httpGet, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { specFile } from '../helpers/spec-file.js'
import { watchServing } from '../helpers/watcher.js'

const run = testRun('deploy')
const app = `d${run.id.slice(-6)}`
let etcd: TestEtcd
let client: Etcd3
let env: NodeJS.ProcessEnv

const fast = { name: app, replicas: 3, 'health.interval': '100ms', 'health.deadline': '5s', 'update.drain': '200ms', 'update.stopGracePeriod': '5s' }
const v1 = () => specFile(`${app}-v1`, { ...fast, image: 'demo/myapp:1' })
const v2 = () => specFile(`${app}-v2`, { ...fast, image: 'demo/myapp:2' })

beforeAll(async () => {
  etcd = await startEtcd()
  client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
  env = run.env(etcd.endpoint)
})

afterAll(async () => {
  await removeByLabel(run.label)
  client?.close()
  await etcd?.stop()
})

const keys = async () => client.getAll().prefix(`/${run.prefix}/`).strings()
const appLabel = `forrest.app=${app}`
const containerNames = async () => (await docker('ps', '-a', '--filter', `label=${appLabel}`, '--format', '{{.Names}}')).split('\n').filter(Boolean).sort()

/** Every key answers with `body`, and keys and running containers are the same set of names. */
async function expectConverged(count: number, body: string) {
  const kv = await keys()
  expect(Object.keys(kv)).toHaveLength(count)
  for (const addr of Object.values(kv)) expect((await httpGet(addr)).body).toBe(body)
  const names = Object.keys(kv).map((k) => k.split('/').at(-1)!).sort()
  expect(await containerNames()).toEqual(names)
  expect(await docker('ps', '-a', '--filter', `label=${appLabel}`, '--filter', 'status=exited', '-q')).toBe('')
}

/**
 * Given: v2 is deployed and current, whatever ran before (a no-op after the first test; what lets
 * a test run alone). Returns the current revision number.
 */
async function givenV2(): Promise<number> {
  const res = await forrest(['deploy', v2()], env)
  expect(res.code, res.stdout + res.stderr).toBe(0)
  await expectConverged(3, 'v2')
  return JSON.parse((await client.get(`/forrest/apps/${app}/current`).string())!).revision as number
}
const pad = (n: number) => String(n).padStart(6, '0')

describe('forrest deploy against real dockerd and etcd', () => {
  it('creates v1 x3, then rolls to v2 x3 without ever dropping below 3 serving', async () => {
    const first = await forrest(['deploy', v1()], env)
    expect(first.code, first.stderr).toBe(0)
    await expectConverged(3, 'v1')

    const watch = watchServing({ etcd: etcd.endpoint, prefix: run.prefix, label: appLabel })
    const second = await forrest(['deploy', v2(), '--json'], env)
    const seen = await watch.stop()
    expect(second.code, second.stderr).toBe(0)
    const result = JSON.parse(second.stdout)
    expect(result).toMatchObject({ app, outcome: 'succeeded', revision: 2, fromRevision: 1, replicas: 3 })
    expect(result.plan.waves).toHaveLength(3)
    expect(seen.polls).toBeGreaterThan(5)
    expect(seen.failures).toEqual([])
    expect(seen.minServing).toBeGreaterThanOrEqual(3) // maxUnavailable 0
    expect(seen.maxActive).toBeLessThanOrEqual(4) // replicas + maxSurge 1; withdrawn containers still stopping are not counted
    expect(seen.maxContainers).toBeLessThanOrEqual(6)
    expect(seen.maxCreated).toBeLessThanOrEqual(3) // created ahead: the window (twice a wave's one start) and the one its step is starting (#30)
    expect(seen.bodies).toEqual(new Set(['v1', 'v2']))
    await expectConverged(3, 'v2')
  })

  it('re-running the same file is a no-op that says so', async () => {
    const revision = await givenV2()
    const before = await containerNames()
    const res = await forrest(['deploy', v2()], env)
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toContain(`${app} is up to date: revision ${revision}, 3/3 serving`)
    expect(await containerNames()).toEqual(before)
  })

  it('a bad image is rolled back (exit 3) and v2 keeps serving throughout', async () => {
    const v2Revision = await givenV2()
    const bad = specFile(`${app}-bad`, { ...fast, image: 'demo/myapp:bad', 'health.deadline': '2s' })
    const watch = watchServing({ etcd: etcd.endpoint, prefix: run.prefix, label: appLabel })
    const res = await forrest(['deploy', bad], env)
    const seen = await watch.stop()
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
    expect(res.stderr).toContain('ROLLED_BACK')
    expect(res.stderr).toContain(`rolled back to revision ${v2Revision}`)
    expect(res.stdout + res.stderr).toContain('not healthy within 2000ms')
    expect(seen.failures).toEqual([])
    expect(seen.minServing).toBeGreaterThanOrEqual(3)
    await expectConverged(3, 'v2')
    const badRev = JSON.parse((await client.get(`/forrest/apps/${app}/revisions/${pad(v2Revision + 1)}`).string())!)
    expect(badRev.outcome).toBe('rolled-back')
    const current = JSON.parse((await client.get('/forrest/apps/' + app + '/current').string())!)
    expect(current.revision).toBe(v2Revision)
  })

  it('invalid input: exit 2, every problem with FILE:LINE:COL, nothing touched', async () => {
    const before = { names: await containerNames(), keys: await keys() }
    const file = specFile(`${app}-invalid`, { ...fast, replicas: -1, 'update.drain': 5, 'health.path': 'nope' })
    const res = await forrest(['deploy', file], env)
    expect(res.code).toBe(EXIT.badInput)
    expect(res.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+ replicas:`))
    expect(res.stderr).toMatch(/:\d+:\d+ update\.drain:/)
    expect(res.stderr).toMatch(/:\d+:\d+ health\.path:/)
    expect(await containerNames()).toEqual(before.names)
    expect(await keys()).toEqual(before.keys)
  })

  it('a second concurrent deploy meets the lock (exit 5, names the holder)', async () => {
    // From v2, the slow v1 file is a rolling update with 1.5 s drains: the lock is held long enough.
    await givenV2()
    const slow = specFile(`${app}-slow`, { ...fast, image: 'demo/myapp:1', 'update.drain': '1500ms' })
    const first = forrest(['deploy', slow], env)
    await pollUntil(async () => (await client.get(`/forrest/locks/${app}`).string()) !== null, { what: 'first deploy to take the lock' })
    const second = await forrest(['deploy', slow], env)
    expect(second.code).toBe(EXIT.lockHeld)
    expect(second.stderr).toContain('LOCK_HELD')
    expect(second.stderr).toMatch(/being changed by .+ on .+ \(pid \d+, deploy /)
    const done = await first
    expect(done.code, done.stderr).toBe(0)
    await expectConverged(3, 'v1')
    expect(await client.get(`/forrest/locks/${app}`).string()).toBeNull()
  })

  it('SIGINT mid-deploy undoes the step in flight, releases the lock, exits 130; the next run converges', async () => {
    const file = specFile(`${app}-int`, { ...fast, image: 'demo/myapp:2', 'update.drain': '800ms' })
    const before = await containerNames()
    const child = spawn(process.execPath, ['bin/run.js', 'deploy', file], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)))
    await pollUntil(async () => (await containerNames()).some((n) => !before.includes(n)), { what: 'a new-revision container' })
    child.kill('SIGINT')
    expect(await exited, stderr).toBe(EXIT.interrupted)
    expect(stderr).toContain('INTERRUPTED')
    expect(await client.get(`/forrest/locks/${app}`).string()).toBeNull()
    const again = await forrest(['deploy', file], env)
    expect(again.code, again.stderr).toBe(0)
    await expectConverged(3, 'v2')
  })

  it('SIGKILL mid-deploy, then a re-run (waiting for the lease to free the lock) converges: no orphans, no stale keys', async () => {
    const file = specFile(`${app}-kill`, { ...fast, image: 'demo/myapp:1', 'update.drain': '800ms' })
    const before = await containerNames()
    const child = spawn(process.execPath, ['bin/run.js', 'deploy', file], { env, stdio: 'ignore' })
    const exited = new Promise((r) => child.on('close', r))
    await pollUntil(async () => (await containerNames()).some((n) => !before.includes(n)), { what: 'a new-revision container' })
    child.kill('SIGKILL')
    await exited
    const t0 = Date.now()
    const again = await forrest(['deploy', file, '--wait-lock=30s'], env)
    console.info(`[deploy] re-run after SIGKILL took ${Date.now() - t0}ms (includes waiting for the dead holder's lease)`)
    expect(again.code, again.stderr).toBe(0)
    await expectConverged(3, 'v1')
    expect(await containersWithLabel(appLabel)).toHaveLength(3)
  })
})
