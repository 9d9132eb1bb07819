/**
 * Safety, round two (issue #21, items 1, 6, 11, 13 and the read-only etcd case): ports of
 * crashed instances, revisions a killed deploy left in-progress, two apps in one backend, a
 * forgotten FORREST_IP, and etcd permissions checked before anything changes. Real etcd and
 * dockerd; no gateway.
 */
import { spawn } from 'node:child_process'
import { networkInterfaces } from 'node:os'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectIp } from '../../src/config.js'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, httpGet, removeByLabel, testRun } from '../helpers/cli.js'
import { startSecureEtcd } from '../helpers/etcd-secure.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('sr2roll')
const fast = { replicas: 1, 'health.interval': '100ms', 'health.deadline': '5s', 'update.drain': '100ms', 'update.stopGracePeriod': '1s' }
let etcd: TestEtcd
let client: Etcd3
let env: NodeJS.ProcessEnv

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

const uniq = (tag: string) => `${tag}${run.id.slice(-4)}`
const containersOf = async (app: string, format = '{{.ID}}') =>
  (await docker('ps', '-a', '--filter', `label=forrest.app=${app}`, '--filter', `label=${run.label}`, '--format', format)).split('\n').filter(Boolean).sort()
const json = async (key: string) => JSON.parse((await client.get(key).string()) ?? 'null')
const without = (e: NodeJS.ProcessEnv, ...names: string[]) => Object.fromEntries(Object.entries(e).filter(([k]) => !names.includes(k)))

async function deployOk(file: string, extra: NodeJS.ProcessEnv = env) {
  const res = await forrest(['deploy', file], extra)
  expect(res.code, res.stdout + res.stderr).toBe(0)
  return res
}

describe('safety round two: rollouts (real etcd and Docker)', () => {
  it("a crashed instance keeps its port: fixed host ports exclude every container's configured port bindings, in any state", async () => {
    const [a, b] = [uniq('pta'), uniq('ptb')]
    const from = 41_000 + Math.floor(Math.random() * 2000) * 4
    const hostPorts = `${from}-${from + 3}`
    await deployOk(specFile(a, { ...fast, name: a, image: 'demo/myapp:1', hostPorts }))
    const [idA] = await containersOf(a)
    const portA = (await docker('port', idA!, '8080/tcp')).split(':').pop()
    // Crashed and not yet restarted: it publishes nothing at this moment, but the port is its own.
    await docker('stop', idA!)
    await deployOk(specFile(b, { ...fast, name: b, image: 'demo/myapp:2', hostPorts }))
    const [idB] = await containersOf(b)
    expect((await docker('port', idB!, '8080/tcp')).split(':').pop()).not.toBe(portA)
    await docker('start', idA!) // would fail with "port is already allocated"
    // Started is not yet listening: poll with a deadline, then assert A answers on its own port.
    await pollUntil(async () => (await httpGet(`127.0.0.1:${portA}`).catch(() => undefined))?.body === 'v1', { what: `A answering again on its port ${portA}` })
    expect((await httpGet(`127.0.0.1:${portA}`)).body).toBe('v1')
  })

  it('a revision a killed deploy left in-progress is settled by the next run under the lock, and history shows it', async () => {
    const app = uniq('kil')
    const lockEnv = { ...env, FORREST_LOCK_TTL: '3' }
    await deployOk(specFile(`${app}-1`, { ...fast, name: app, image: 'demo/myapp:1' }), lockEnv)
    const before = await containersOf(app)
    const child = spawn(process.execPath, ['bin/run.js', 'deploy', specFile(`${app}-2`, { ...fast, name: app, image: 'demo/myapp:2', 'update.soak': '20s' })], { env: lockEnv, stdio: 'ignore' })
    const exited = new Promise((r) => child.on('close', r))
    await pollUntil(async () => (await containersOf(app)).length > before.length, { timeoutMs: 20_000, what: 'the killed deploy to start a container' })
    expect((await json(`/forrest/apps/${app}/revisions/000002`)).outcome).toBe('in-progress')
    child.kill('SIGKILL')
    await exited
    const next = await forrest(['deploy', specFile(`${app}-3`, { ...fast, name: app, image: 'demo/myapp:1', env: { NEXT: '1' } }), '--wait-lock=30s'], lockEnv)
    expect(next.code, next.stdout + next.stderr).toBe(0)
    expect((await json(`/forrest/apps/${app}/revisions/000002`)).outcome).toBe('failed')
    expect((await json(`/forrest/apps/${app}/revisions/000003`)).outcome).toBe('succeeded')
    const history = await forrest(['history', app], env)
    expect(history.code).toBe(0)
    expect(history.stdout).not.toContain('in-progress')
    expect(history.stdout).toMatch(/│ 2\s+│.*│ failed\s+│/)
    const events = Object.values(await client.getAll().prefix(`/forrest/apps/${app}/events/`).strings()).map((v) => JSON.parse(v) as { kind: string; revision: number; message: string })
    expect(events.find((e) => e.kind === 'settled' && e.revision === 2)?.message).toMatch(/left in-progress/)
  }, 90_000)

  it('a detected address that differs from where the current revision runs is refused before anything changes (exit 2); an explicit one moves it and shows as a change', async () => {
    const app = uniq('adr')
    const detected = detectIp(networkInterfaces())
    expect(detected, 'this test needs a non-loopback IPv4 address on the machine').not.toBe('127.0.0.1')
    const file = specFile(app, { ...fast, name: app, image: 'demo/myapp:1' })
    await deployOk(file)
    const before = await containersOf(app)
    const keysBefore = await client.getAll().prefix(`/${run.prefix}/${app}-`).strings()
    const noIp = without(env, 'FORREST_IP')
    for (const verb of ['diff', 'deploy']) {
      const res = await forrest([verb, file], noIp)
      expect(res.code, `${verb}: ${res.stdout}${res.stderr}`).toBe(EXIT.badInput)
      expect(res.stderr).toContain(`detected address ${detected}`)
      expect(res.stderr).toContain('127.0.0.1')
      expect(res.stderr).toMatch(/FORREST_IP=127\.0\.0\.1/)
    }
    expect(await containersOf(app)).toEqual(before)
    expect(await client.getAll().prefix(`/${run.prefix}/${app}-`).strings()).toEqual(keysBefore)
    expect(Object.keys(await client.getAll().prefix(`/forrest/apps/${app}/revisions/`).strings())).toHaveLength(1)
    // Set explicitly, a new address is a change: in diff, in the deploy and in history.
    const moved = { ...env, FORREST_IP: '127.0.0.3' }
    const diff = await forrest(['diff', file], moved)
    expect(diff.code, diff.stdout + diff.stderr).toBe(0)
    expect(diff.stdout).toContain('announce.address 127.0.0.1 → 127.0.0.3')
    expect(diff.stdout).not.toContain('no change')
    const res = await deployOk(file, moved)
    expect(res.stdout).not.toContain('detected')
    const history = await forrest(['history', app], env)
    expect(history.stdout).toContain('announce.address 127.0.0.1 → 127.0.0.3')
    const [addr] = Object.values(await client.getAll().prefix(`/${run.prefix}/${app}-`).strings())
    expect(addr).toMatch(/^127\.0\.0\.3:/)
  }, 90_000)

  it('diff says when the announce address was detected', async () => {
    const app = uniq('det')
    const res = await forrest(['diff', specFile(app, { ...fast, name: app, image: 'demo/myapp:1' })], without(env, 'FORREST_IP'))
    expect(res.code, res.stdout + res.stderr).toBe(0)
    expect(res.stdout).toContain(`announce address ${detectIp(networkInterfaces())} was detected`)
  })
})

describe('safety round two: two apps never share a backend by default', () => {
  let own: TestEtcd
  let ownClient: Etcd3
  beforeAll(async () => {
    own = await startEtcd()
    ownClient = new Etcd3({ hosts: `http://${own.endpoint}` })
  })
  afterAll(async () => {
    ownClient?.close()
    await own?.stop()
  })

  it("a deploy never puts an app into a prefix where another app's instances are registered unless the file says so (exit 2, nothing changed)", async () => {
    const defaults = without(run.env(own.endpoint), 'ETCD_PREFIX') // the default prefix, app/servers
    const [first, other] = [uniq('one'), uniq('oth')]
    await deployOk(specFile(first, { ...fast, name: first, image: 'demo/myapp:1' }), defaults)
    const res = await forrest(['deploy', specFile(other, { ...fast, name: other, image: 'demo/myapp:2' })], defaults)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.badInput)
    expect(res.stderr).toContain(`${first}'s instances are registered under /app/servers/`)
    expect(res.stderr).toMatch(/announce\.prefix/)
    expect(await containersOf(other)).toEqual([])
    expect(await ownClient.getAll().prefix(`/forrest/apps/${other}/`).keys()).toEqual([])
    // Its own prefix: fine. The shared prefix written in the file: an explicit choice, fine too.
    await deployOk(specFile(`${other}-own`, { ...fast, name: other, image: 'demo/myapp:2', 'announce.prefix': `${other}/servers` }), defaults)
    const third = uniq('thr')
    await deployOk(specFile(third, { ...fast, name: third, image: 'demo/myapp:2', 'announce.prefix': 'app/servers' }), defaults)
    const keys = Object.keys(await ownClient.getAll().prefix('/app/servers/').strings())
    expect(keys.some((k) => k.includes(`/${third}-`)) && keys.some((k) => k.includes(`/${first}-`))).toBe(true)
  }, 90_000)
})

describe('safety round two: etcd permissions are checked before anything changes', () => {
  it('a role that cannot write the instance prefix fails with exit 15 before any container or revision', async () => {
    const secure = await startSecureEtcd()
    try {
      await secure.ctl('role', 'add', 'partial')
      await secure.ctl('role', 'grant-permission', 'partial', '--prefix=true', 'readwrite', '/forrest/')
      await secure.ctl('role', 'grant-permission', 'partial', '--prefix=true', 'read', '/app/')
      await secure.ctl('user', 'add', 'partial:partial-pw', '--interactive=false')
      await secure.ctl('user', 'grant-role', 'partial', 'partial')
      const app = uniq('ro')
      const since = String(Math.floor(Date.now() / 1000) - 1)
      const res = await forrest(['deploy', specFile(app, { ...fast, name: app, image: 'demo/myapp:1' })], {
        ...run.env(''),
        ...secure.env('forrest'),
        ETCDCTL_USER: 'partial',
        ETCDCTL_PASSWORD: 'partial-pw',
        ETCD_PREFIX: `app/${run.id}`,
      })
      expect(res.code, res.stdout + res.stderr).toBe(EXIT.etcdPermission)
      expect(res.stderr).toMatch(/permission denied/)
      expect(res.stderr).toContain(`/app/${run.id}/`)
      const created = await docker('events', '--since', since, '--until', String(Math.ceil(Date.now() / 1000)), '--filter', 'event=create', '--filter', `label=forrest.app=${app}`, '--format', '{{.Actor.ID}}')
      expect(created).toBe('')
      expect(await secure.ctl('get', `/forrest/apps/${app}/`, '--prefix', '--keys-only')).toBe('')
    } finally {
      await secure.stop()
    }
  }, 120_000)
})
