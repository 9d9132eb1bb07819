import { Etcd3 } from 'etcd3'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config.js'
import { openContext } from '../../src/context.js'
import type { ContainerRuntime } from '../../src/docker/runtime.js'
import { EXIT } from '../../src/errors.js'
import type { InstanceRegistry } from '../../src/registry/instances.js'
import { collectStatus } from '../../src/verbs/status.js'
import { docker, forrest, httpGet, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'

const run = testRun('operate')
let etcd: TestEtcd
let client: Etcd3
let dir: string
let template: string
const images: string[] = []

beforeAll(async () => {
  etcd = await startEtcd()
  client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
  dir = await mkdtemp(join(tmpdir(), 'forrest-operate-'))
  template = await readFile('deployments/myapp.yml', 'utf8')
})

afterAll(async () => {
  await removeByLabel(run.label)
  for (const image of images) await docker('rmi', '-f', image).catch(() => undefined)
  client?.close()
  await etcd?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const env = () => run.env(etcd.endpoint)

/** deployments/myapp.yml with a unique name, fast health checks and a short drain. */
async function specFile(app: string, image: string, replicas: number, file = `${app}.yml`): Promise<string> {
  const text = template
    .replace(/^name: myapp$/m, `name: ${app}`)
    .replace(/^image: demo\/myapp:1$/m, `image: ${image}`)
    .replace(/^replicas: 3$/m, `replicas: ${replicas}`)
    .replace(/interval: 200ms/, 'interval: 100ms')
    .replace(/deadline: 30s/, 'deadline: 5s')
    .replace(/drain: 2s/, 'drain: 100ms')
    .replace(/stopGracePeriod: 10s/, 'stopGracePeriod: 2s')
  const path = join(dir, file)
  await writeFile(path, text)
  return path
}

/** name → ip:port of the app's keys in etcd. */
async function appKeys(app: string): Promise<Record<string, string>> {
  const all = await client.getAll().prefix(`/${run.prefix}/${app}-`).strings()
  return Object.fromEntries(Object.entries(all).map(([k, v]) => [k.split('/').at(-1)!, v]))
}

async function appContainers(app: string): Promise<string[]> {
  const out = await docker('ps', '-a', '--filter', `label=forrest.app=${app}`, '--filter', `label=${run.label}`, '--format', '{{.Names}} {{.State}}')
  return out ? out.split('\n').sort() : []
}

async function deployOk(file: string) {
  const res = await forrest(['deploy', file], env())
  expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0)
  return res
}

async function json(args: string[]) {
  const res = await forrest([...args, '--json'], env())
  return { code: res.code, out: JSON.parse(res.stdout || '{}'), stderr: res.stderr }
}

interface Sample {
  at: number
  registered: number
  serving: number
  /** Addresses that did not answer while their key was still registered. */
  failures: string[]
}

/**
 * A client's view while a command runs: every ~50ms read the app's keys and GET every address
 * they name. An address that fails counts against the bound only if its key is still there
 * afterwards (withdrawn a moment ago is what a load balancer would also have seen).
 */
function watchServing(app: string) {
  const samples: Sample[] = []
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const keys = await appKeys(app)
      const results = await Promise.all(
        Object.entries(keys).map(async ([name, address]) => {
          try {
            const res = await httpGet(address, 1000)
            return res.status === 200 ? 'ok' : `${name} HTTP ${res.status}`
          } catch (err) {
            const still = await client.get(`/${run.prefix}/${name}`).string()
            return still === address ? `${name} ${address} ${(err as Error).message}` : 'withdrawn'
          }
        }),
      )
      samples.push({ at: Date.now(), registered: results.length, serving: results.filter((r) => r === 'ok').length, failures: results.filter((r) => r !== 'ok' && r !== 'withdrawn') })
      await new Promise((r) => setTimeout(r, 50)) // sampling cadence of the watcher, not a wait for a condition
    }
  })()
  return {
    async stop(): Promise<Sample[]> {
      stopped = true
      await loop
      return samples
    },
  }
}

/** Runs a command while watching, and checks at every sample: at least `floor` serving, and every registered address answers. */
async function watched(app: string, args: string[], floor: number) {
  const watcher = watchServing(app)
  const res = await forrest(args, env())
  const samples = await watcher.stop()
  expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0)
  expect(samples.length).toBeGreaterThan(2)
  expect(samples.flatMap((s) => s.failures)).toEqual([])
  expect(Math.min(...samples.map((s) => s.serving)), `serving per sample: ${samples.map((s) => s.serving).join(',')}`).toBeGreaterThanOrEqual(floor)
  return res
}

const bodies = async (app: string) => Promise.all(Object.values(await appKeys(app)).map(async (a) => (await httpGet(a)).body))

describe('operating a deployed app against real dockerd and etcd', () => {
  it('scale 3→5→1→0→2 keeps running instances, never dips below the smaller count, and a deploy of the file wins afterwards', async () => {
    const app = `${run.id}-sc`
    const file = await specFile(app, 'demo/myapp:1', 3)
    await deployOk(file)
    const before = Object.keys(await appKeys(app)).sort()
    expect(before).toEqual([`${app}-r1-1`, `${app}-r1-2`, `${app}-r1-3`])
    const idsBefore = await docker('ps', '-q', '--no-trunc', '--filter', `label=forrest.app=${app}`)

    await watched(app, ['scale', app, '5'], 3)
    expect(Object.keys(await appKeys(app))).toHaveLength(5)
    const idsAfter = await docker('ps', '-q', '--no-trunc', '--filter', `label=forrest.app=${app}`)
    for (const id of idsBefore.split('\n')) expect(idsAfter).toContain(id) // scaling up replaced nothing
    expect(await bodies(app)).toEqual(Array(5).fill('v1'))

    await watched(app, ['scale', app, '1'], 1)
    expect(Object.keys(await appKeys(app))).toEqual([`${app}-r1-1`])
    expect(await appContainers(app)).toEqual([`${app}-r1-1 running`])

    await watched(app, ['scale', app, '0'], 0)
    expect(await appKeys(app)).toEqual({})
    expect(await appContainers(app)).toEqual([])

    await watched(app, ['scale', app, '2'], 0)
    expect(await bodies(app)).toEqual(['v1', 'v1'])

    // Still revision 1: scale never makes a revision; the current record says who scaled.
    const hist = await json(['history', app])
    expect(hist.out.revisions.map((r: { revision: number }) => r.revision)).toEqual([1])
    const current = JSON.parse((await client.get(`/forrest/apps/${app}/current`).string())!)
    expect(current).toMatchObject({ revision: 1, replicas: 2, scaled: { replicas: 2 } })

    // The file says 3: diff shows the override, deploy applies it.
    const diff = await forrest(['diff', file], env())
    expect(diff.code, diff.stderr).toBe(0)
    expect(diff.stdout).toMatch(new RegExp(`replicas 2 \\(set by forrest scale at \\S+ by .+\\) → 3 \\(from the file\\)`))
    expect(diff.stdout).toContain('dry run, nothing changed')
    expect(Object.keys(await appKeys(app))).toHaveLength(2)
    const redeploy = await json(['deploy', file])
    expect(redeploy.code, redeploy.stderr).toBe(0)
    expect(redeploy.out.notes[0]).toMatch(/^replicas 2 \(set by forrest scale at .+\) → 3 \(from the file\)$/)
    expect(Object.keys(await appKeys(app))).toHaveLength(3)
  }, 90_000)

  it('rollback after v1 → bad → v2 restores v1 (skipping the rolled-back one) with no gap, as a new revision', async () => {
    const app = `${run.id}-rb`
    await deployOk(await specFile(app, 'demo/myapp:1', 2))
    const bad = await forrest(['deploy', await specFile(app, 'demo/myapp:bad', 2)], env())
    expect(bad.code, bad.stderr).toBe(EXIT.rolledBack)
    await deployOk(await specFile(app, 'demo/myapp:2', 2))
    expect(await bodies(app)).toEqual(['v2', 'v2'])

    const res = await watched(app, ['rollback', app], 2)
    expect(res.stdout).toContain(`${app}: revision 4, 2/2 serving (succeeded`)
    expect(await bodies(app)).toEqual(['v1', 'v1'])
    expect(Object.keys(await appKeys(app)).sort()).toEqual([`${app}-r4-1`, `${app}-r4-2`])

    const hist = await json(['history', app])
    expect(hist.code).toBe(0)
    expect(hist.out.revisions.map((r: { revision: number; outcome: string; current: boolean; image: string; restoredFrom?: number }) => [r.revision, r.outcome, r.current, r.image, r.restoredFrom])).toEqual([
      [4, 'succeeded', true, 'demo/myapp:1', 1],
      [3, 'succeeded', false, 'demo/myapp:2', undefined],
      [2, 'rolled-back', false, 'demo/myapp:bad', undefined],
      [1, 'succeeded', false, 'demo/myapp:1', undefined],
    ])
    expect(hist.out.revisions[0].changes[0]).toBe('rollback to revision 1')
    const human = await forrest(['history', app], env())
    expect(human.stdout).toMatch(/4 \(current\)/)
    expect(human.stdout.indexOf('4 (current)')).toBeLessThan(human.stdout.indexOf('rolled-back'))

    // Unknown revision / unknown app: exit 8, nothing changed.
    const unknownRev = await forrest(['rollback', app, '--to', '42'], env())
    expect(unknownRev.code).toBe(EXIT.notFound)
    expect(unknownRev.stderr).toContain('REVISION_NOT_FOUND')
    const unknownApp = await forrest(['rollback', `${run.id}-nope`], env())
    expect(unknownApp.code).toBe(EXIT.notFound)
    expect(unknownApp.stderr).toContain('APP_NOT_FOUND')
    expect(unknownApp.stderr).toContain(app) // the hint lists known apps
    expect((await json(['history', app])).out.revisions).toHaveLength(4)
  }, 90_000)

  it('rollback to a revision whose image is gone fails before touching anything', async () => {
    const app = `${run.id}-gone`
    const image = `forrest-test/old:${run.id}`
    // A distinct image id (docker commit), so removing the tag really removes the image.
    const cid = await docker('create', '--label', run.label, 'demo/myapp:1')
    await docker('commit', cid, image)
    await docker('rm', cid)
    images.push(image)
    await deployOk(await specFile(app, image, 1))
    await deployOk(await specFile(app, 'demo/myapp:2', 1))
    await docker('rmi', image)

    const keysBefore = await appKeys(app)
    const containersBefore = await appContainers(app)
    const res = await forrest(['rollback', app], env())
    expect(res.code).toBe(EXIT.notFound)
    expect(res.stderr).toContain('IMAGE_NOT_FOUND')
    expect(res.stderr).toContain(`revision 1 of ${app} runs image ${image}`)
    expect(await appKeys(app)).toEqual(keysBefore)
    expect(await appContainers(app)).toEqual(containersBefore)
    const hist = await json(['history', app])
    expect(hist.out.currentRevision).toBe(2)
    expect(hist.out.revisions).toHaveLength(2)
    expect(await client.get(`/forrest/locks/${app}`).string()).toBeNull()
  }, 90_000)

  it('status reports each kind of drift made by hand, ignores unlabelled containers, exits 10, then 0 after a re-deploy', async () => {
    const app = `${run.id}-st`
    await deployOk(await specFile(app, 'demo/myapp:1', 2))
    const file = await specFile(app, 'demo/myapp:2', 2)
    await deployOk(file)
    const ok = await json(['status', app])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.out.apps[0]).toMatchObject({ app, revision: 2, desired: 2, healthy: 2, registered: 2, converged: true, drift: [] })

    // Drift by hand.
    await client.delete().key(`/${run.prefix}/${app}-r2-1`) // container without key
    await docker('kill', `${app}-r2-2`) // stopped container, still registered
    // Key without container: forrest's record of it says it ran on this engine.
    const record = JSON.parse((await client.get(`/forrest/apps/${app}/instances/${app}-r2-1`).string())!)
    await client.put(`/${run.prefix}/${app}-r2-7`).value('127.0.0.1:1')
    await client.put(`/forrest/apps/${app}/instances/${app}-r2-7`).value(JSON.stringify({ ...record, name: `${app}-r2-7`, address: '127.0.0.1:1' }))
    // An old-revision instance carrying this environment's labels, registered.
    const oldName = `${app}-r1-5`
    const owner = await docker('inspect', '-f', '{{index .Config.Labels "forrest.owner"}}', `${app}-r2-1`)
    await docker('run', '-d', '--init', '--name', oldName, '-p', '127.0.0.1::8080', '--label', run.label, '--label', 'forrest.managed=true', '--label', `forrest.owner=${owner}`, '--label', 'forrest.kind=rollout', '--label', `forrest.app=${app}`, '--label', 'forrest.revision=1', '--label', `forrest.prefix=${run.prefix}`, 'demo/myapp:1')
    const oldPort = (await docker('port', oldName, '8080/tcp')).split(':').at(-1)!
    await client.put(`/${run.prefix}/${oldName}`).value(`127.0.0.1:${oldPort}`)
    // Not ours: no forrest labels, a similar name. Never counted, never touched.
    const foreign = `${app}-r2-9`
    await docker('run', '-d', '--init', '--name', foreign, '--label', run.label, 'demo/myapp:1')
    // A rollout in progress: someone holds the lock.
    const holder = { actor: 'carol@ci', host: 'ci-7', pid: 4242, since: new Date().toISOString(), command: `deploy ${app}.yml` }
    await client.put(`/forrest/locks/${app}`).value(JSON.stringify(holder))

    const drifted = await json(['status', app])
    expect(drifted.code).toBe(EXIT.notConverged)
    expect(drifted.out.error.code).toBe('NOT_CONVERGED')
    const status = drifted.out.error.detail.apps[0]
    const kinds = status.drift.map((d: { kind: string; instance?: string }) => `${d.kind} ${d.instance ?? ''}`.trim())
    expect(kinds).toEqual(
      expect.arrayContaining([
        `container-without-key ${app}-r2-1`,
        `stopped-container ${app}-r2-2`,
        `old-revision ${app}-r1-5`,
        `key-without-container ${app}-r2-7`,
        'replica-count',
        'rollout-in-progress',
      ]),
    )
    expect(JSON.stringify(status)).not.toContain(foreign)
    expect(status.lock).toEqual(holder)
    expect(status.instances.find((i: { name: string }) => i.name === `${app}-r2-2`)).toMatchObject({ state: 'exited', registered: true, health: 'unhealthy' })
    expect(status.healthy).toBe(0)

    const human = await forrest(['status', app], env())
    expect(human.code).toBe(EXIT.notConverged)
    expect(human.stdout).toContain('NOT CONVERGED')
    expect(human.stdout).toContain('Out of step:')
    expect(human.stdout).toContain(`${app}-r2-7: registered as 127.0.0.1:1 but has no container`)
    expect(human.stdout).toContain('a rollout is in progress: deploy')
    expect(human.stdout).not.toContain(foreign)
    expect(human.stderr).toContain('NOT_CONVERGED')

    // While the lock is held, scale and rollback refuse and change nothing.
    const locked = await forrest(['scale', app, '3'], env())
    expect(locked.code).toBe(EXIT.lockHeld)
    expect(locked.stderr).toContain('carol@ci')
    await client.delete().key(`/forrest/locks/${app}`)

    await deployOk(file)
    await pollUntil(async () => (await forrest(['status', app], env())).code === 0, { timeoutMs: 10_000, what: 'status to converge' })
    const converged = await json(['status'])
    expect(converged.code).toBe(0) // every app in this etcd, not just this one
    expect(converged.out.apps.find((a: { app: string }) => a.app === app)).toMatchObject({ healthy: 2, registered: 2, converged: true })
    expect(await docker('inspect', '-f', '{{.State.Running}}', foreign)).toBe('true')
    expect(await docker('ps', '-aq', '--filter', `name=^${oldName}$`)).toBe('')
  }, 90_000)

  it("status APP lists only APP's containers and reads only its keys, though another app shares the prefix", async () => {
    // #18: status APP listed every forrest container on the host and read the whole shared prefix.
    const [mine, other] = [`${run.id}-sa`, `${run.id}-sb`]
    await deployOk(await specFile(mine, 'demo/myapp:1', 2))
    await deployOk(await specFile(other, 'demo/myapp:1', 3))
    const ctx = await openContext(resolveConfig(env()))
    const listed: Array<{ labels: Record<string, string>; count: number }> = []
    const read: Array<{ prefix: string; count: number }> = []
    const runtime = Object.create(ctx.runtime) as ContainerRuntime
    runtime.list = async (labels) => {
      const out = await ctx.runtime.list(labels)
      listed.push({ labels, count: out.length })
      return out
    }
    const registry = Object.create(ctx.registry) as InstanceRegistry
    registry.list = async (prefix, namePrefix) => {
      const out = await ctx.registry.list(prefix, namePrefix)
      read.push({ prefix, count: out.size })
      return out
    }
    try {
      const report = await collectStatus({ ...ctx, runtime, registry }, mine)
      expect(report.apps[0]).toMatchObject({ app: mine, healthy: 2, registered: 2, converged: true, foreign: [] })
      expect(listed).toEqual([{ labels: { 'forrest.managed': 'true', 'forrest.app': mine }, count: 2 }])
      expect(read).toEqual([{ prefix: run.prefix, count: 2 }])
    } finally {
      ctx.close()
    }
  }, 90_000)

  it('errors: unknown app, etcd unreachable, Docker unreachable', async () => {
    // Given one known app (the tests above made several; alone, none existed).
    const known = `${run.id}-known`
    const given = await forrest(['deploy', await specFile(known, 'demo/myapp:1', 1)], env())
    expect(given.code, given.stdout + given.stderr).toBe(0)
    for (const args of [['status', 'nope'], ['history', 'nope'], ['scale', 'nope', '2']]) {
      const res = await forrest(args, env())
      expect(res.code, args.join(' ')).toBe(EXIT.notFound)
      expect(res.stderr).toContain('APP_NOT_FOUND')
      expect(res.stderr).toMatch(new RegExp(`Known apps:.*\\b${known}\\b`))
    }
    const noEtcd = await forrest(['status'], run.env('127.0.0.1:1'))
    expect(noEtcd.code).toBe(EXIT.etcdUnreachable)
    const noDocker = await forrest(['status'], run.env(etcd.endpoint, { DOCKER_HOST: 'unix:///nonexistent/docker.sock' }))
    expect(noDocker.code).toBe(EXIT.dockerUnreachable)
    for (const n of ['-1', 'abc', '1.5']) {
      const badN = await forrest(['scale', `${run.id}-sc`, n], env())
      expect(badN.code, n).toBe(EXIT.badInput)
    }
  }, 60_000)
})
