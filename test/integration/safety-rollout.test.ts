/**
 * The zero-downtime promise off the happy path, where etcd and Docker are concerned (issue #10,
 * items 5-9, 12, 13, 15): prefixes in every spelling, prefix migrations within the bounds,
 * ownership by labels, keys withdrawn only when provably ours and dead, a fenced lock, `forrest
 * stop` through the lock, records that converge, ports bound to the announced address.
 * Real etcd and dockerd; no gateway (plain confd setup: the drain timer applies).
 */
import { spawn } from 'node:child_process'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, httpGet, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('saferoll')
const fast = { replicas: 2, 'health.interval': '100ms', 'health.deadline': '5s', 'update.drain': '100ms', 'update.stopGracePeriod': '1s' }
let etcd: TestEtcd
let client: Etcd3
let env: NodeJS.ProcessEnv
const images: string[] = []

beforeAll(async () => {
  etcd = await startEtcd()
  client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
  env = run.env(etcd.endpoint)
})

afterAll(async () => {
  await removeByLabel(run.label)
  for (const image of images) await docker('rmi', '-f', image).catch(() => undefined)
  client?.close()
  await etcd?.stop()
})

const uniq = (tag: string) => `${tag}${run.id.slice(-4)}`
const keysUnder = async (prefix: string) => client.getAll().prefix(`/${prefix}/`).strings()
const containersOf = async (app: string, format = '{{.ID}}') =>
  (await docker('ps', '-a', '--filter', `label=forrest.app=${app}`, '--filter', `label=${run.label}`, '--format', format)).split('\n').filter(Boolean).sort()
const json = async (key: string) => JSON.parse((await client.get(key).string()) ?? 'null')

async function deployOk(file: string, extra: NodeJS.ProcessEnv = env) {
  const res = await forrest(['deploy', file], extra)
  expect(res.code, res.stdout + res.stderr).toBe(0)
  return res
}

describe('safety: prefixes, ownership, fencing, records (real etcd and Docker)', () => {
  it('every spelling of a prefix is the same prefix: a re-deploy is a no-op and status sees every key', async () => {
    const app = uniq('pfx')
    const spelled = `/${run.prefix}/p5/`
    await deployOk(specFile(`${app}-a`, { ...fast, name: app, image: 'demo/myapp:1', 'announce.prefix': spelled }))
    expect(Object.keys(await keysUnder(`${run.prefix}/p5`))).toHaveLength(2)
    const again = await deployOk(specFile(`${app}-b`, { ...fast, name: app, image: 'demo/myapp:1', 'announce.prefix': `${run.prefix}//p5` }))
    expect(again.stdout).toContain('up to date')
    const status = await forrest(['status', app, '--json'], env)
    expect(status.code, status.stdout + status.stderr).toBe(0)
    expect(JSON.parse(status.stdout).apps[0]).toMatchObject({ registered: 2, healthy: 2 })
  })

  it('a prefix overlapping the records root is refused (exit 2), nothing touched', async () => {
    const app = uniq('ovl')
    const res = await forrest(['deploy', specFile(`${app}`, { ...fast, name: app, image: 'demo/myapp:1', 'announce.prefix': 'forrest/apps' })], env)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.badInput)
    expect(res.stderr).toMatch(/records root/)
    expect(await containersOf(app)).toEqual([])
  })

  it('changing prefix and image together migrates within the bounds and withdraws the old keys where they are', async () => {
    const app = uniq('mig')
    const [a, b] = [`${run.prefix}/mig-a`, `${run.prefix}/mig-b`]
    await deployOk(specFile(`${app}-a`, { ...fast, name: app, image: 'demo/myapp:1', 'announce.prefix': a }))
    let minServing = Number.POSITIVE_INFINITY
    let polls = 0
    let polling = true
    const poller = (async () => {
      while (polling) {
        const addrs = [...Object.values(await keysUnder(a)), ...Object.values(await keysUnder(b))]
        const ok = await Promise.all(addrs.map((addr) => httpGet(addr, 500).then((r) => r.status === 200, () => false)))
        minServing = Math.min(minServing, ok.filter(Boolean).length)
        polls++
        await new Promise((r) => setTimeout(r, 30)) // poll interval
      }
    })()
    try {
      await deployOk(specFile(`${app}-b`, { ...fast, name: app, image: 'demo/myapp:2', 'announce.prefix': b }))
    } finally {
      polling = false
      await poller
    }
    // The minimum starts at +Infinity: it means something only if polls ran during the rollout.
    expect(polls).toBeGreaterThan(5)
    expect(minServing).toBeGreaterThanOrEqual(2)
    expect(await keysUnder(a)).toEqual({})
    const newKeys = await keysUnder(b)
    expect(Object.keys(newKeys)).toHaveLength(2)
    for (const addr of Object.values(newKeys)) expect((await httpGet(addr)).body).toBe('v2')
    expect(await containersOf(app)).toHaveLength(2)
  })

  it('another environment (its own etcd) on the same Docker host never adopts or retires these containers', async () => {
    const app = uniq('own')
    await deployOk(specFile(`${app}-1`, { ...fast, name: app, image: 'demo/myapp:1' }))
    const mine = await containersOf(app)
    const other = await startEtcd()
    try {
      const otherEnv = run.env(other.endpoint)
      await deployOk(specFile(`${app}-2`, { ...fast, name: app, image: 'demo/myapp:2' }), otherEnv)
      const all = await containersOf(app)
      for (const id of mine) expect(all).toContain(id)
      expect(all).toHaveLength(4)
      // and back: this environment's re-deploy leaves the other one's containers alone too
      await deployOk(specFile(`${app}-3`, { ...fast, name: app, image: 'demo/myapp:2' }))
      expect(await containersOf(app)).toHaveLength(4)
      const status = JSON.parse((await forrest(['status', app, '--json'], env)).stdout)
      const report = status.apps ? status : status.error.detail
      expect(report.apps[0].foreign).toHaveLength(2)
    } finally {
      await other.stop()
    }
  })

  it('a container from `forrest launch` is not retired by a deploy of an app with the same name', async () => {
    const app = uniq('lch')
    images.push(`${app}:1`)
    await docker('tag', 'demo/myapp:1', `${app}:1`)
    const launched = await forrest(['launch', `${app}:1`, '--json'], env)
    expect(launched.code, launched.stderr).toBe(0)
    const { container } = JSON.parse(launched.stdout)
    await deployOk(specFile(`${app}-d`, { ...fast, name: app, image: 'demo/myapp:2' }))
    expect(await docker('inspect', '-f', '{{.State.Running}}', container)).toBe('true')
  })

  it('a key whose instance record names another engine is not withdrawn as stale', async () => {
    const app = uniq('stk')
    await deployOk(specFile(`${app}-1`, { ...fast, name: app, image: 'demo/myapp:1' }))
    const name = `${app}-r1-9`
    await client.put(`/${run.prefix}/${name}`).value('10.9.9.9:31234').exec()
    await client.put(`/forrest/apps/${app}/instances/${name}`).value(JSON.stringify({ name, container: 'c0ffee', host: 'elsewhere', engine: 'another-engine-id', revision: 1, address: '10.9.9.9:31234' })).exec()
    await deployOk(specFile(`${app}-2`, { ...fast, name: app, image: 'demo/myapp:1', replicas: 3 }))
    expect(await client.get(`/${run.prefix}/${name}`).string()).toBe('10.9.9.9:31234')
  })

  it('ports are published on the announced address, not on every interface', async () => {
    const app = uniq('bnd')
    await deployOk(specFile(`${app}`, { ...fast, name: app, image: 'demo/myapp:1', replicas: 1, 'announce.address': '127.0.0.3' }))
    const [id] = await containersOf(app)
    expect(await docker('port', id!, '8080/tcp')).toMatch(/^127\.0\.0\.3:\d+$/)
    const [addr] = Object.values(await keysUnder(run.prefix)).filter((v) => v.startsWith('127.0.0.3:'))
    expect((await httpGet(addr!)).body).toBe('v1')
  })

  it('records converge: a revision left in-progress by a crash is settled by the next no-op deploy', async () => {
    const app = uniq('rec')
    const file = specFile(`${app}`, { ...fast, name: app, image: 'demo/myapp:1', replicas: 1 })
    await deployOk(file)
    const key = `/forrest/apps/${app}/revisions/000001`
    await client.put(key).value(JSON.stringify({ ...(await json(key)), outcome: 'in-progress' })).exec()
    await deployOk(file)
    expect((await json(key)).outcome).toBe('succeeded')
  })

  it('`forrest stop` takes the app lock: while a deploy holds it, stop fails with exit 5 and stops nothing', async () => {
    const app = uniq('stp')
    await deployOk(specFile(`${app}-1`, { ...fast, name: app, image: 'demo/myapp:1' }))
    const [victim] = await containersOf(app, '{{.Names}}')
    const deploying = forrest(['deploy', specFile(`${app}-2`, { ...fast, name: app, image: 'demo/myapp:2', 'update.soak': '2s' })], env)
    await pollUntil(async () => (await client.get(`/forrest/locks/${app}`).string()) !== null, { what: 'the deploy to take the lock' })
    const res = await forrest(['stop', victim!], env)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.lockHeld)
    const deployed = await deploying
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0)
    const after = await forrest(['stop', (await containersOf(app, '{{.Names}}'))[0]!], env)
    expect(after.code, after.stdout + after.stderr).toBe(0)
    expect(await containersOf(app)).toHaveLength(1)
  })

  it('a deploy frozen past its lock lease is fenced: it exits 12 and changes nothing of the deploy that took over', async () => {
    const app = uniq('fen')
    const lockEnv = { ...env, FORREST_LOCK_TTL: '3' }
    await deployOk(specFile(`${app}-1`, { ...fast, name: app, image: 'demo/myapp:1' }), lockEnv)
    const before = await containersOf(app)
    const child = spawn(process.execPath, ['bin/run.js', 'deploy', specFile(`${app}-2`, { ...fast, name: app, image: 'demo/myapp:2', 'update.soak': '3s' })], { env: lockEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)))
    try {
      await pollUntil(async () => (await containersOf(app)).length > before.length, { what: 'the first deploy to start a container' })
      child.kill('SIGSTOP')
      const takeover = await forrest(['deploy', specFile(`${app}-3`, { ...fast, name: app, image: 'demo/myapp:1', env: { TAKEOVER: '1' } }), '--wait-lock=40s'], lockEnv)
      expect(takeover.code, takeover.stdout + takeover.stderr).toBe(0)
    } finally {
      child.kill('SIGCONT')
    }
    expect(await exited, out).toBe(EXIT.lockLost)
    expect(out).toContain('LOCK_LOST')
    const current = await json(`/forrest/apps/${app}/current`)
    const rec = await json(`/forrest/apps/${app}/revisions/${String(current.revision).padStart(6, '0')}`)
    expect(rec.spec.env.TAKEOVER).toBe('1')
    expect(rec.outcome).toBe('succeeded')
    const keys = Object.entries(await keysUnder(run.prefix)).filter(([k]) => k.includes(`/${app}-`))
    expect(keys).toHaveLength(2)
    for (const [k, addr] of keys) {
      expect(k).toContain(`-r${current.revision}-`)
      expect((await httpGet(addr)).body).toBe('v1')
    }
    expect(await containersOf(app)).toHaveLength(2)
  }, 90_000)
})
