/**
 * Safety, round two, where the load balancer is concerned (issue #21, items 2 and 12, and a
 * gateway's final "down"): an acknowledgement the empty-view guard did not honour is never a
 * withdrawal, a prefix move that would empty the serving load balancer is refused, a final
 * verdict ends the wait at once, and two gateways sharing one --servers-file each write only
 * their own backend's block. Real etcd, HAProxy, `forrest gateway` and dockerd.
 */
import { readFile, writeFile } from 'node:fs/promises'
import type { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { SERVERS_BEGIN, SERVERS_END } from '../../src/gateway/servers-file.js'
import { createEtcdClient } from '../../src/registry/client.js'
import { readGatewayAcks, waitForGatewayAcks } from '../../src/registry/gateway-acks.js'
import { docker, forrest, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil } from '../helpers/etcd.js'
import { startGatewayCli } from '../helpers/gateway-cli.js'
import { startHaproxy } from '../helpers/haproxy.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { startLoad } from '../helpers/load.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('sr2gw')
const app = `m${run.id.slice(-6)}`
const base = { name: app, replicas: 2, 'health.interval': '100ms', 'health.deadline': '4s', 'update.stopGracePeriod': '1s', 'update.drain': '100ms' }

describe('safety round two: gateways (real etcd, HAProxy, forrest gateway, Docker)', () => {
  let stack: LbStack
  let client: Etcd3
  let env: NodeJS.ProcessEnv

  beforeAll(async () => {
    stack = await startLbStack(run, { serversFile: true })
    env = stack.env
    client = createEtcdClient([stack.etcd.endpoint], { callTimeoutMs: 2000 })
    const first = await forrest(['deploy', specFile(`${app}-v1`, { ...base, image: 'demo/myapp:1' })], env)
    expect(first.code, first.stdout + first.stderr).toBe(0)
  }, 60_000)

  afterAll(async () => {
    client?.close()
    await stack?.stop()
  }, 40_000)

  const keysUnder = async (prefix: string) => client.getAll().prefix(`/${prefix}/`).strings()

  it('an acknowledgement that did not do what it acknowledges (the empty-view guard kept a server) is never counted as a withdrawal', async () => {
    const keys = await keysUnder(run.prefix)
    const expected = new Set((await readGatewayAcks(client, run.prefix)).acks.keys())
    try {
      // Every key gone, but forrest's records say the app still has 2 replicas there: the guard keeps the servers.
      // One at a time, as forrest withdraws them: the last delete empties the view.
      let rev = 0
      for (const k of Object.keys(keys)) rev = Number((await client.delete().key(k).exec()).header.revision)
      await pollUntil(async () => [...(await readGatewayAcks(client, run.prefix)).acks.values()].every((a) => (a.kept?.length ?? 0) >= 1), { timeoutMs: 5000, what: 'the gateway to report the servers its guard kept' })
      for (const ack of (await readGatewayAcks(client, run.prefix)).acks.values()) expect(ack.revision).toBeLessThan(rev)
      const wait = await waitForGatewayAcks(client, run.prefix, rev, { timeoutMs: 10_000, expected })
      expect(wait.outcome).toBe('failed')
      expect(wait.waitedMs).toBeLessThan(2000) // final: no sitting out the timeout
      expect(wait.problems?.join('\n')).toMatch(/empty-view guard kept/)
    } finally {
      for (const [k, v] of Object.entries(keys)) await client.put(k).value(v).exec()
    }
    await pollUntil(async () => [...(await readGatewayAcks(client, run.prefix)).acks.values()].every((a) => !a.kept), { timeoutMs: 5000, what: 'the guard to let go' })
  })

  it('changing announce.prefix is refused (exit 11, nothing changed) while live gateways watch the old prefix and fewer watch the new one; no request fails', async () => {
    const moved = `${run.prefix}-moved`
    const before = await keysUnder(run.prefix)
    const containers = await docker('ps', '-q', '--filter', `label=forrest.app=${app}`)
    const load = startLoad({ url: `${stack.haproxy.url}/`, concurrency: 4, pauseMs: 10, maxDurationMs: 60_000 })
    let res
    try {
      res = await forrest(['deploy', specFile(`${app}-moved`, { ...base, image: 'demo/myapp:2', 'announce.prefix': moved })], env, 60_000)
    } finally {
      await pollUntil(() => load.samples.length > 20, { what: 'some requests through HAProxy' })
    }
    const report = await load.stop()
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.gatewaysMissing)
    expect(res.stderr).toContain(`announce.prefix moves from /${run.prefix}/ to /${moved}/`)
    expect(res.stderr).toMatch(/nothing was changed/)
    expect(res.stderr).toContain(`forrest gateway --prefix ${moved}`)
    expect(report.samples.filter((s) => s.status !== 200).slice(0, 3)).toEqual([])
    expect(await keysUnder(run.prefix)).toEqual(before)
    expect(await keysUnder(moved)).toEqual({})
    expect(await docker('ps', '-q', '--filter', `label=forrest.app=${app}`)).toBe(containers)
    expect(await client.get(`/forrest/apps/${app}/revisions/000002`).string()).toBeNull()
  }, 90_000)

  it("a gateway's final \"down\" verdict ends the wait at once: the step fails with the gateway's reason, not after the health deadline", async () => {
    const started = Date.now()
    const file = specFile(`${app}-unreach`, { ...base, image: 'demo/myapp:2', 'announce.address': '127.0.0.2', 'health.deadline': '40s' })
    const res = await forrest(['deploy', file], { ...env, FORREST_BIND_IP: '127.0.0.1' }, 90_000)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
    expect(res.stderr).toMatch(/from the gateway's host answered/)
    expect(Date.now() - started).toBeLessThan(25_000)
  }, 90_000)

  it('with as many live gateways on the new prefix, a prefix move keeps the bounds on both prefixes: exit 0, no request fails, the old keys are gone', async () => {
    const moved = `${run.prefix}-moved`
    const second = await startGatewayCli({ socket: stack.haproxy.socket, env: { ...env, ETCD_PREFIX: moved }, id: `moved-${run.id}` })
    try {
      // A move whose new revision fails HAProxy's check is rolled back to the old prefix, within the bounds too.
      const before = await keysUnder(run.prefix)
      const failing = startLoad({ url: `${stack.haproxy.url}/`, concurrency: 4, pauseMs: 10, maxDurationMs: 60_000 })
      const back = await forrest(['deploy', specFile(`${app}-moved-bad`, { ...base, image: 'demo/myapp:noroot', 'health.path': '/healthz', 'announce.prefix': moved })], env, 60_000)
      const failingReport = await failing.stop()
      expect(back.code, back.stdout + back.stderr).toBe(EXIT.rolledBack)
      expect(failingReport.samples.filter((s) => s.status !== 200).slice(0, 3)).toEqual([])
      expect(Object.keys(await keysUnder(run.prefix)).sort()).toEqual(Object.keys(before).sort())
      expect(await keysUnder(moved)).toEqual({})

      const load = startLoad({ url: `${stack.haproxy.url}/`, concurrency: 4, pauseMs: 10, maxDurationMs: 60_000 })
      let res
      try {
        res = await forrest(['deploy', specFile(`${app}-moved2`, { ...base, image: 'demo/myapp:2', 'announce.prefix': moved })], env, 60_000)
      } finally {
        await pollUntil(() => load.samples.length > 20, { what: 'some requests through HAProxy' })
      }
      const report = await load.stop()
      expect(res.code, res.stdout + res.stderr).toBe(0)
      expect(report.samples.filter((s) => s.status !== 200).slice(0, 3)).toEqual([])
      expect(await keysUnder(run.prefix)).toEqual({})
      expect(Object.keys(await keysUnder(moved))).toHaveLength(2)
      expect(new Set(report.samples.slice(-5).map((s) => s.body))).toEqual(new Set(['v2']))
    } finally {
      await second.stop()
    }
  }, 90_000)
})

describe('safety round two: two gateways sharing one --servers-file', () => {
  const block = `  ${SERVERS_BEGIN}\n  ${SERVERS_END}\n`
  const nc2 = (markers: boolean) => `backend nc2\n  balance roundrobin\n  option httpchk GET /\n${markers ? block : ''}`

  it("a gateway writes only its own backend's block, and refuses to start (exit 2) when the file has none for it", async () => {
    const haproxy = await startHaproxy({ extraConfig: nc2(false) })
    const { startEtcd } = await import('../helpers/etcd.js')
    const etcd = await startEtcd()
    const [p1, p2] = [`${run.prefix}/one`, `${run.prefix}/two`]
    const env1 = { ...run.env(etcd.endpoint), ETCD_PREFIX: p1 }
    const env2 = { ...run.env(etcd.endpoint), ETCD_PREFIX: p2 }
    const gateways: Array<{ stop(): Promise<void> }> = []
    try {
      // The file has a block, but in backend app: nc2's gateway refuses to start rather than write there.
      const refused = await forrest(['gateway', '--socket', haproxy.socket, '--backend', 'nc2', '--servers-file', haproxy.configPath], env2, 20_000)
      expect(refused.code, refused.stdout + refused.stderr).toBe(EXIT.badInput)
      expect(refused.stderr).toContain('block inside `backend nc2`')
      await writeFile(haproxy.configPath, `${await readFile(haproxy.configPath, 'utf8')}${block}`)
      gateways.push(await startGatewayCli({ socket: haproxy.socket, backend: 'app', env: env1, id: `one-${run.id}`, serversFile: haproxy.configPath }))
      gateways.push(await startGatewayCli({ socket: haproxy.socket, backend: 'nc2', env: env2, id: `nc2-${run.id}`, serversFile: haproxy.configPath }))
      const [a1, a2] = [`${app}a`, `${app}b`]
      for (const [name, e, image] of [[a1, env1, 'demo/myapp:1'], [a2, env2, 'demo/myapp:2']] as const) {
        const res = await forrest(['deploy', specFile(name, { ...base, name, replicas: 1, image })], e)
        expect(res.code, res.stdout + res.stderr).toBe(0)
      }
      const blockOf = (text: string, backend: string) => {
        const section = text.slice(text.indexOf(`backend ${backend}`))
        return section.slice(section.indexOf(SERVERS_BEGIN), section.indexOf(SERVERS_END))
      }
      await pollUntil(async () => blockOf(await readFile(haproxy.configPath, 'utf8'), 'nc2').includes(`server ${a2}-`), { what: "nc2's block to list its server" })
      const text = await readFile(haproxy.configPath, 'utf8')
      expect(blockOf(text, 'app')).toContain(`server ${a1}-`)
      expect(blockOf(text, 'app')).not.toContain(a2)
      expect(blockOf(text, 'nc2')).not.toContain(a1)
      // After a reload, each backend starts with its own servers only.
      await haproxy.reload()
      expect((await haproxy.runtime.servers('app')).map((s) => s.name).filter((n) => n.startsWith(a2))).toEqual([])
    } finally {
      for (const g of gateways) await g.stop()
      await removeByLabel(run.label)
      await haproxy.stop()
      await etcd.stop()
    }
  }, 120_000)
})
