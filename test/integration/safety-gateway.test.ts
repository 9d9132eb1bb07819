/**
 * The zero-downtime promise off the happy path, where the load balancer is concerned (issue
 * #10, items 1-3 and 11): an acknowledgement is HAProxy's verdict, a gateway that cannot apply
 * or stops answering fails the rollout instead of being ignored, required gateways are checked
 * before anything changes, and a gateway never empties a backend on a view it cannot trust.
 * Real etcd, HAProxy, `forrest gateway` and dockerd; load through HAProxy where traffic matters.
 */
import type { Etcd3 } from 'etcd3'
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { createEtcdClient } from '../../src/registry/client.js'
import { readGatewayAcks, type GatewayAck } from '../../src/registry/gateway-acks.js'
import { docker, forrest, testRun } from '../helpers/cli.js'
import { pollUntil, type TestEtcd } from '../helpers/etcd.js'
import { startGatewayCli, type GatewayCli } from '../helpers/gateway-cli.js'
import type { TestHaproxy } from '../helpers/haproxy.js'
import { startLoad } from '../helpers/load.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('safegw')
const app = `g${run.id.slice(-6)}`
const base = { name: app, replicas: 2, 'health.interval': '100ms', 'health.deadline': '4s', 'update.stopGracePeriod': '1s', 'update.drain': '100ms' }
const v1 = () => specFile(`${app}-v1`, { ...base, image: 'demo/myapp:1' })

describe('safety: gateways and HAProxy verdicts (real etcd, HAProxy, forrest gateway, Docker)', () => {
  let etcd: TestEtcd
  let haproxy: TestHaproxy
  let gateway: GatewayCli
  let stack: LbStack
  let client: Etcd3
  let env: NodeJS.ProcessEnv

  beforeAll(async () => {
    stack = await startLbStack(run, { serversFile: true })
    ;({ etcd, haproxy, gateway, env } = stack)
    client = createEtcdClient([etcd.endpoint], { callTimeoutMs: 2000 })
    const first = await forrest(['deploy', v1()], env)
    expect(first.code, first.stdout + first.stderr).toBe(0)
  }, 60_000)

  afterAll(async () => {
    client?.close()
    await stack?.stop()
  }, 40_000)

  const liveServers = async () => (await haproxy.runtime.servers('app')).map((s) => s.name).sort()
  const v1Keys = async () => Object.keys(await client.getAll().prefix(`/${run.prefix}/`).strings()).sort()

  /** Deploys `file` under load through HAProxy; returns the CLI result and the load report. */
  async function deployUnderLoad(file: string, extraEnv: Record<string, string> = {}) {
    const load = startLoad({ url: `${haproxy.url}/`, concurrency: 4, pauseMs: 10, maxDurationMs: 60_000 })
    try {
      const res = await forrest(['deploy', file], { ...env, ...extraEnv }, 60_000)
      return { res, report: await load.stop() }
    } finally {
      await load.stop()
    }
  }

  it('a revision whose HAProxy check fails (while its own /healthz probe passes) is rolled back: exit 3, zero failed requests', async () => {
    const keysBefore = await v1Keys()
    const file = specFile(`${app}-noroot`, { ...base, image: 'demo/myapp:noroot', 'health.path': '/healthz' })
    const { res, report } = await deployUnderLoad(file)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
    // HAProxy never routes to it: its layer-7 check failed (code 404 when HAProxy reports one; it once
    // showed 0 under load), or, on a loaded machine, its first checks had not concluded within the wait.
    expect(res.stderr).toMatch(/HAProxy's check failed \(L7STS( 404)?\)|HAProxy does not route to \S+: pending/)
    expect(report.sent).toBeGreaterThan(50)
    expect(report.samples.filter((s) => s.status !== 200).slice(0, 3)).toEqual([])
    expect(new Set(report.samples.map((s) => s.body))).toEqual(new Set(['v1']))
    expect(await v1Keys()).toEqual(keysBefore)
    // The undone instance's records (instance, health check) went with its key.
    const recorded = Object.keys(await client.getAll().prefix(`/forrest/apps/${app}/instances/`).strings()).map((k) => k.split('/').at(-1))
    expect(recorded.sort()).toEqual(keysBefore.map((k) => k.split('/').at(-1)))
    expect(Object.keys(await client.getAll().prefix('/forrest/checks/').strings()).filter((k) => k.includes('-r2-'))).toEqual([])
  })

  it('a revision HAProxy cannot reach (announced 127.0.0.2, published on 127.0.0.1) is rolled back: exit 3, zero failed requests', async () => {
    const keysBefore = await v1Keys()
    const file = specFile(`${app}-unreach`, { ...base, image: 'demo/myapp:2', 'announce.address': '127.0.0.2' })
    const { res, report } = await deployUnderLoad(file, { FORREST_BIND_IP: '127.0.0.1' })
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
    expect(report.sent).toBeGreaterThan(50)
    expect(report.samples.filter((s) => s.status !== 200).slice(0, 3)).toEqual([])
    expect(new Set(report.samples.map((s) => s.body))).toEqual(new Set(['v1']))
    expect(await v1Keys()).toEqual(keysBefore)
  })

  it('a key HAProxy rejects (999.1.1.1:99999) is skipped and the gateway keeps acknowledging', async () => {
    const put = await client.put(`/${run.prefix}/bogus`).value('999.1.1.1:99999').exec()
    try {
      const rev = Number(put.header.revision)
      let acks = new Map<string, GatewayAck>()
      await pollUntil(async () => {
        acks = (await readGatewayAcks(client, run.prefix)).acks
        return acks.size > 0 && [...acks.values()].every((a) => a.revision >= rev)
      }, { timeoutMs: 5000, what: 'the gateway to ack past the bogus key' })
      expect([...acks.keys()]).toContain(`gw-${run.id}`)
      // The ack is the verdict: the key is "down", with HAProxy's reason, and the rest stay up.
      expect(acks.get(`gw-${run.id}`)?.servers?.bogus).toMatchObject({ state: 'down', reason: expect.stringMatching(/999\.1\.1\.1:99999.*not a valid IPv4 address and port/) })
      // The event goes to the gateway's stdout, the ack to etcd: two channels, no order between
      // them as this process reads them, so wait for the event rather than read it once.
      await pollUntil(() => gateway.events.some((e) => e.type === 'skipped' && e.name === 'bogus'), { timeoutMs: 5000, what: "the gateway's skipped event for bogus" })
    } finally {
      await client.delete().key(`/${run.prefix}/bogus`).exec()
    }
  })

  it('gateways.required: 2 with one live gateway fails before changing anything (exit 11)', async () => {
    const [keys, names] = [await v1Keys(), await docker('ps', '-aq', '--filter', `label=forrest.app=${app}`)]
    const res = await forrest(['deploy', specFile(`${app}-req2`, { ...base, image: 'demo/myapp:2', 'gateways.required': 2 })], env)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.gatewaysMissing)
    expect(res.stderr).toContain(`gw-${run.id}`)
    expect(await v1Keys()).toEqual(keys)
    expect(await docker('ps', '-aq', '--filter', `label=forrest.app=${app}`)).toEqual(names)
  })

  it('a gateway frozen mid-rollout (its lease expires) fails the rollout instead of being ignored: exit 3, v1 keeps all its containers', async () => {
    const frozen = await startGatewayCli({ socket: haproxy.socket, env, id: `frozen-${run.id}` })
    try {
      const v1Containers = (await docker('ps', '-q', '--filter', `label=forrest.app=${app}`)).split('\n').sort()
      const deploying = forrest(['deploy', specFile(`${app}-v2f`, { ...base, image: 'demo/myapp:2', 'update.drain': '100ms' })], env, 60_000)
      await pollUntil(async () => (await docker('ps', '-q', '--filter', `label=forrest.app=${app}`)).split('\n').length > v1Containers.length, { what: 'a v2 container' })
      frozen.proc.kill('SIGSTOP')
      const res = await deploying
      expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
      expect(res.stdout + res.stderr).toContain(`frozen-${run.id}`)
      const running = (await docker('ps', '-q', '--filter', `label=forrest.app=${app}`)).split('\n').sort()
      for (const id of v1Containers) expect(running).toContain(id)
    } finally {
      frozen.proc.kill('SIGCONT')
      await frozen.stop()
    }
  })

  it('a gateway that cannot apply a change (servers-file markers edited away) fails the deploy (exit 3); status names the gateway and why', async () => {
    const original = await readFile(haproxy.configPath, 'utf8')
    const keysBefore = await v1Keys()
    try {
      await writeFile(haproxy.configPath, original.replace(/^.*forrest:servers:(begin|end).*$/gm, ''))
      const deploying = forrest(['deploy', specFile(`${app}-stuck`, { ...base, image: 'demo/myapp:2', 'gateways.timeout': '3s' })], env, 60_000)
      // While it is stuck, `forrest status` says which gateway and why.
      let status = ''
      await pollUntil(async () => {
        status = (await forrest(['status', app, '--json'], env)).stdout
        return /cannot update/.test(status)
      }, { timeoutMs: 20_000, intervalMs: 200, what: 'status to report the stuck gateway' })
      expect(status).toContain(`gw-${run.id}`)
      expect(status).toContain('gateway-stuck')
      const res = await deploying
      expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
      expect(res.stdout + res.stderr).toContain(`gw-${run.id}`)
      expect(await v1Keys()).toEqual(keysBefore)
    } finally {
      await writeFile(haproxy.configPath, original)
    }
    const again = await forrest(['deploy', v1()], env)
    expect(again.code, again.stdout + again.stderr).toBe(0)
  })

  /** Every server in the backend with what decides whether it serves: admin state (maint/drain bits) and weight. */
  const serverStates = async () => (await haproxy.runtime.servers('app')).map((s) => `${s.name} admin=${s.adminState} weight=${s.weight}`).sort()

  it('a gateway on the wrong prefix (an empty view) deletes nothing: neither the forrest servers it owns nor hand-added ones', async () => {
    await haproxy.runtime.run('add server app/handmade 127.0.0.1:9 weight 0')
    const dir = await mkdtemp(join(tmpdir(), 'forrest-typo-'))
    let wrong: GatewayCli | undefined
    try {
      const before = await serverStates()
      const forrestServers = (await liveServers()).filter((n) => n !== 'handmade')
      expect(forrestServers.length).toBe(2)
      // Its own copy of the servers file: the block names the live servers, so this gateway owns
      // them (may delete them) and the empty-view guard, not ownership, is what has to keep them.
      const serversFile = join(dir, 'haproxy.cfg')
      await copyFile(haproxy.configPath, serversFile)
      for (const name of forrestServers) expect(await readFile(serversFile, 'utf8')).toMatch(new RegExp(`^\\s*server ${name} `, 'm'))
      // Ready once started: a gateway whose guard keeps servers need not acknowledge anything.
      wrong = await startGatewayCli({ socket: haproxy.socket, env: { ...env, ETCD_PREFIX: `${run.prefix}-typo` }, id: `typo-${run.id}`, serversFile, readyOn: 'started' })
      // Its ack says what it kept and why.
      let error = ''
      await pollUntil(async () => {
        error = (await readGatewayAcks(client, `${run.prefix}-typo`)).acks.get(`typo-${run.id}`)?.error ?? ''
        return error !== ''
      }, { timeoutMs: 5000, what: "the wrong-prefix gateway's ack" })
      expect(error).toMatch(new RegExp(`kept ${forrestServers.length} servers \\(wrong --prefix`))
      // Over a few more of its passes (settled: one every 250 ms) nothing is drained or deleted:
      // without the guard the first pass drains both and the ones after delete them.
      const until = Date.now() + 1500
      while (Date.now() < until) {
        expect(await serverStates()).toEqual(before)
        await new Promise((r) => setTimeout(r, 100)) // sampling period of a hold-for-1.5s check, not a readiness wait
      }
      expect(wrong.events.filter((e) => e.type === 'draining' || e.type === 'drained')).toEqual([])
      expect(await serverStates()).toEqual(before)
    } finally {
      await wrong?.stop()
      await rm(dir, { recursive: true, force: true })
      await haproxy.runtime.run('set server app/handmade state maint').catch(() => undefined)
      await haproxy.runtime.run('del server app/handmade').catch(() => undefined)
    }
  })

  it('a gateway takes its backend to 0 when forrest\'s records say the app was scaled to 0, and leaves hand-added servers', async () => {
    await haproxy.runtime.run('add server app/handmade 127.0.0.1:9 weight 0')
    try {
      expect((await liveServers()).filter((n) => n !== 'handmade').length).toBe(2)
      const res = await forrest(['scale', app, '0'], env, 60_000)
      expect(res.code, res.stdout + res.stderr).toBe(0)
      expect(await v1Keys()).toEqual([])
      // The scale recorded its target of 0 under the lock before its first withdrawal, so the
      // guard let the last server go and the gateway acknowledged it (an ack its guard kept a
      // server for never counts as a withdrawal: #21 item 2); the scale then settled at 0.
      await pollUntil(async () => JSON.stringify(await liveServers()) === JSON.stringify(['handmade']), { timeoutMs: 5000, what: 'the backend down to the hand-added server' })
      expect(gateway.events.filter((e) => e.type === 'warning' && /kept \d+ server/.test(e.message))).toEqual([])
      // Settle replaced the target with the current record, in one transaction.
      expect(await client.get(`/forrest/apps/${app}/target`).string()).toBeNull()
      expect(JSON.parse((await client.get(`/forrest/apps/${app}/current`).string())!).replicas).toBe(0)
    } finally {
      await haproxy.runtime.run('set server app/handmade state maint').catch(() => undefined)
      await haproxy.runtime.run('del server app/handmade').catch(() => undefined)
      const back = await forrest(['scale', app, '2'], env, 60_000)
      expect(back.code, back.stdout + back.stderr).toBe(0)
    }
  })

  it('a target of 0 a killed scale left in forrest\'s records is cleared by the next run under the lock, with a settled event', async () => {
    const current = JSON.parse((await client.get(`/forrest/apps/${app}/current`).string())!) as { revision: number; replicas: number }
    expect(current.replicas).toBe(2)
    // What `forrest scale APP 0` leaves when it is killed after recording its target.
    await client.put(`/forrest/apps/${app}/target`).value(JSON.stringify({ replicas: 0, revision: current.revision, at: '2026-01-01T00:00:00.000Z', by: 'killed' })).exec()
    const res = await forrest(['scale', app, '2'], env, 60_000)
    expect(res.code, res.stdout + res.stderr).toBe(0)
    expect(await client.get(`/forrest/apps/${app}/target`).string()).toBeNull()
    const events = Object.values(await client.getAll().prefix(`/forrest/apps/${app}/events/`).strings()).map((v) => JSON.parse(v) as { kind: string; message: string })
    expect(events.filter((e) => e.kind === 'settled' && /by killed was left by a run that ended without settling it \(killed\?\): cleared/.test(e.message))).toHaveLength(1)
    expect(await v1Keys()).toHaveLength(2)
  })
})
