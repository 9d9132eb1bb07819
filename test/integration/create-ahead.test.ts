/**
 * Containers created ahead of their start (#30): each start step only starts, checks and
 * announces; a created, never-started container is never left behind: removed on rollback, and
 * after a SIGKILL by the next run's drift wave. Real etcd and dockerd; no gateway (drain timer).
 */
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('speed')
const fast = { replicas: 3, 'health.interval': '100ms', 'health.deadline': '10s', 'update.drain': '100ms', 'update.stopGracePeriod': '1s' }
let etcd: TestEtcd
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  etcd = await startEtcd()
  env = run.env(etcd.endpoint)
})

afterAll(async () => {
  await removeByLabel(run.label)
  await etcd?.stop()
})

const uniq = (tag: string) => `speed-${tag}${run.id.slice(-4)}`
/** The app's containers as "name state revision", sorted. */
const containers = async (app: string) =>
  (await docker('ps', '-a', '--filter', `label=forrest.app=${app}`, '--filter', `label=${run.label}`, '--format', '{{.Names}} {{.State}} {{.Label "forrest.revision"}}')).split('\n').filter(Boolean).sort()
const created = async (app: string) => (await containers(app)).filter((c) => c.split(' ')[1] === 'created')

async function deployOk(file: string) {
  const res = await forrest(['deploy', file], env)
  expect(res.code, res.stdout + res.stderr).toBe(0)
  return res
}

/** Runs a deploy while sampling the app's created-never-started containers every 20 ms: the most seen at once. */
async function deploySampling(app: string, file: string) {
  let most = 0
  let done = false
  const sampler = (async () => {
    while (!done) {
      most = Math.max(most, (await created(app)).length)
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  const res = await forrest(['deploy', '--json', file], env)
  done = true
  await sampler
  return { res, most }
}

describe('create ahead', () => {
  it('a serial update starts containers created ahead of their step, and leaves none created', async () => {
    const app = uniq('ser')
    await deployOk(specFile(`${app}-1`, { ...fast, name: app, image: 'demo/myapp:1' }))
    const res = await forrest(['deploy', '--json', specFile(`${app}-2`, { ...fast, name: app, image: 'demo/myapp:2' })], env)
    expect(res.code, res.stdout + res.stderr).toBe(0)
    const starts = JSON.parse(res.stdout).timings.steps.filter((s: { kind: string }) => s.kind === 'start')
    expect(starts).toHaveLength(3)
    for (const s of starts) expect(s.detail).toMatch(/^created ahead in \d+ms, healthy in \d+ms/)
    expect(await created(app)).toEqual([])
    expect((await containers(app)).map((c) => c.split(' ').slice(1).join(' '))).toEqual(['running 2', 'running 2', 'running 2'])
  })

  /** Its first new instance never answers on 8080: it fails its health check, the rest never start. */
  async function failingUpdate(onFailure: 'rollback' | 'pause', exit: number) {
    const app = uniq(onFailure.slice(0, 2))
    await deployOk(specFile(`${app}-1`, { ...fast, name: app, image: 'demo/myapp:1' }))
    const bad = specFile(`${app}-2`, { ...fast, name: app, image: 'demo/myapp:2', command: ['/bin/sh', '-c', 'sleep 600'], 'health.deadline': '2s', 'update.onFailure': onFailure })
    const { res, most } = await deploySampling(app, bad)
    expect(res.code, res.stdout + res.stderr).toBe(exit)
    expect(most).toBeGreaterThan(0) // they were there, created ahead
    expect(await created(app)).toEqual([])
    expect((await containers(app)).map((c) => c.split(' ').slice(1).join(' '))).toEqual(['running 1', 'running 1', 'running 1'])
  }

  it('a failing update (onFailure: rollback) removes the containers it created ahead and never started', () => failingUpdate('rollback', EXIT.rolledBack))
  it('a failing update (onFailure: pause) removes the containers it created ahead and never started', () => failingUpdate('pause', EXIT.failed))

  it('SIGKILL mid-rollout leaves created containers; the next run removes them and converges', async () => {
    const app = uniq('kill')
    await deployOk(specFile(`${app}-1`, { ...fast, name: app, image: 'demo/myapp:1', replicas: 4 }))
    const v2 = specFile(`${app}-2`, { ...fast, name: app, image: 'demo/myapp:2', replicas: 4, 'health.interval': '500ms' })
    const child = spawn(process.execPath, ['bin/run.js', 'deploy', v2], { env, stdio: 'ignore' })
    const exited = new Promise((r) => child.on('exit', r))
    // Killed while one new instance runs and a later one is created, not started.
    await pollUntil(async () => {
      const all = await containers(app)
      return all.some((c) => c.endsWith(' running 2')) && all.some((c) => c.endsWith(' created 2'))
    }, { timeoutMs: 20_000, intervalMs: 20, what: 'a running and a created container of revision 2' })
    child.kill('SIGKILL')
    await exited
    expect((await created(app)).length).toBeGreaterThan(0)
    const again = await forrest(['deploy', '--wait-lock=30s', v2], env) // the dead run's lease frees the lock
    expect(again.code, again.stdout + again.stderr).toBe(0)
    expect(again.stdout + again.stderr).toMatch(/exists but is not running: remove it/)
    expect(await created(app)).toEqual([])
    // The killed run's revision was settled as failed: the re-run rolls the same spec out as the next one.
    const after = (await containers(app)).map((c) => c.split(' ').slice(1))
    expect(after.map(([state]) => state)).toEqual(['running', 'running', 'running', 'running'])
    expect(new Set(after.map(([, rev]) => rev)).size).toBe(1)
    expect(after[0]![1]).not.toBe('1')
  })
})
