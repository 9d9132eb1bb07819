import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyWeights, clearWeights, type WeightDeps } from '../../src/engine/weights.js'
import { ForrestError, exitCodeFor } from '../../src/errors.js'
import { HaproxyRuntime } from '../../src/gateway/haproxy-runtime.js'
import { startGateway } from '../../src/gateway/gateway.js'
import type { GatewayHandle } from '../../src/gateway/types.js'
import { createEtcdClient } from '../../src/registry/client.js'
import { readGatewayAcks, waitForGatewayAcks } from '../../src/registry/gateway-acks.js'
import { InstanceRegistry } from '../../src/registry/instances.js'
import { plainWriter } from '../../src/registry/kv-writer.js'
import { weightKey } from '../../src/registry/weights.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { SERVER_HEADER, startHaproxy, type TestHaproxy } from '../helpers/haproxy.js'

const RUN = `weights-${randomUUID().slice(0, 8)}`
const PREFIX = `test/${RUN}/servers`

/** A gateway whose HAProxy never gets a weight change: it "sends" `set server ... weight` and HAProxy never sees it (a lost command). */
class DeafToWeights extends HaproxyRuntime {
  override run(command: string): Promise<string> {
    if (/^set server \S+ weight \d+$/.test(command)) return Promise.resolve('')
    return super.run(command)
  }
}

describe('traffic weights reach HAProxy through every gateway (real etcd, HAProxy)', () => {
  let etcd: TestEtcd
  let client: Etcd3
  let h1: TestHaproxy
  let h2: TestHaproxy
  let app: Server
  const gateways: GatewayHandle[] = []
  const live = new Set<string>()
  let deps: WeightDeps

  const weightIn = async (h: TestHaproxy, name: string) => (await h.runtime.servers('app')).find((s) => s.name === name)?.weight

  beforeAll(async () => {
    ;[etcd, h1, h2] = await Promise.all([startEtcd(), startHaproxy(), startHaproxy()])
    client = createEtcdClient([etcd.endpoint], { callTimeoutMs: 2000 })
    app = createServer((_req, res) => res.end('ok'))
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r))
    const ctx = { etcd: client, config: { recordsRoot: 'forrest' } }
    deps = { ctx, registry: new InstanceRegistry(client, [etcd.endpoint], plainWriter(client, [etcd.endpoint])), gateways: () => live, ackTimeoutMs: 3000 } as unknown as WeightDeps
  }, 30_000)

  afterAll(async () => {
    for (const g of gateways) await g.stop().catch(() => undefined)
    client?.close()
    app?.close()
    await Promise.all([h1?.stop(), h2?.stop(), etcd?.stop()])
  })

  const startOn = async (h: TestHaproxy, id: string, runtime?: HaproxyRuntime) => {
    const g = await startGateway({ client, etcdHosts: [etcd.endpoint], socketPath: h.socket, ...(runtime ? { runtime } : {}), prefix: PREFIX, id })
    gateways.push(g)
    await pollUntil(async () => (await readGatewayAcks(client, PREFIX)).acks.has(id), { timeoutMs: 5000, what: `${id} ack` })
    live.add(id)
  }

  it('a weight set by the rollout is applied by the gateway, acknowledged with HAProxy\'s own weight, and shapes the traffic', async () => {
    await startOn(h1, 'gw-a')
    const addr = `127.0.0.1:${(app.address() as AddressInfo).port}`
    let rev = 0
    for (const name of ['w-1', 'w-2']) rev = Number((await client.put(`/${PREFIX}/${name}`).value(addr)).header.revision)
    expect((await waitForGatewayAcks(client, PREFIX, rev, { timeoutMs: 10_000 })).outcome).toBe('acked')
    await pollUntil(async () => (await readGatewayAcks(client, PREFIX)).acks.get('gw-a')?.servers?.['w-2']?.state === 'up', { timeoutMs: 10_000, what: 'w-1, w-2 up' })

    const change = await applyWeights(deps, PREFIX, new Map([['w-1', 10]]))
    expect(change.gateways).toEqual(['gw-a'])
    // The key sits beside the instance key, under forrest's records root; the instance key is untouched.
    expect(await client.get(weightKey(PREFIX, 'w-1')).string()).toBe('10')
    expect(await client.get(`/${PREFIX}/w-1`).string()).toBe(addr)
    // HAProxy's own view (show servers state), and the ack carries that view.
    expect(await weightIn(h1, 'w-1')).toBe(10)
    expect(await weightIn(h1, 'w-2')).toBe(100)
    expect((await readGatewayAcks(client, PREFIX)).acks.get('gw-a')?.weights).toEqual({ 'w-1': 10, 'w-2': 100 })

    // The share follows the weights: 10 / (10 + 100) = 9.1% to w-1 under round robin.
    const by = new Map<string, number>()
    for (let i = 0; i < 220; i++) {
      const res = await fetch(h1.url)
      expect(res.status).toBe(200)
      const s = res.headers.get(SERVER_HEADER) ?? '?'
      by.set(s, (by.get(s) ?? 0) + 1)
      await res.text()
    }
    const share = (by.get('w-1') ?? 0) / 220
    console.info(`[weights] w-1 at weight 10 against 100 served ${(share * 100).toFixed(1)}% (asked 9.1%)`)
    expect(share).toBeGreaterThan(0.06)
    expect(share).toBeLessThan(0.12)

    // Back to the default: the key is deleted and HAProxy has 100 again.
    await clearWeights(deps, PREFIX, ['w-1'])
    expect(await client.get(weightKey(PREFIX, 'w-1')).string()).toBeNull()
    expect(await weightIn(h1, 'w-1')).toBe(100)
  }, 30_000)

  it('a gateway that missed a weight change fails the step, naming the gateway and the weight HAProxy has', async () => {
    await startOn(h2, 'gw-deaf', new DeafToWeights(h2.socket, 1000))
    await pollUntil(async () => (await readGatewayAcks(client, PREFIX)).acks.get('gw-deaf')?.servers?.['w-2']?.state === 'up', { timeoutMs: 10_000, what: 'gw-deaf serving' })
    const failed = await applyWeights(deps, PREFIX, new Map([['w-1', 25]])).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(failed).toBeInstanceOf(ForrestError)
    const err = failed as ForrestError
    expect(err.code).toBe('ROLLOUT_FAILED')
    expect(exitCodeFor(err.code)).toBe(4)
    expect(err.message).toMatch(/gateway gw-deaf on .*: HAProxy has w-1 at weight 100, not 25; waited 3000ms/)
    expect(err.message).not.toMatch(/gateway gw-a/) // the one that applied it is not blamed
    expect(await weightIn(h1, 'w-1')).toBe(25)
    expect(await weightIn(h2, 'w-1')).toBe(100)
  }, 30_000)
})
