import { randomUUID } from 'node:crypto'
import type { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEtcdClient } from '../../src/registry/client.js'
import { watchPrefix, type PrefixState, type PrefixWatch } from '../../src/registry/prefix-watch.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

const RUN = `test/pw-${randomUUID().slice(0, 8)}`

describe('watchPrefix (real etcd behind a TCP proxy)', () => {
  let etcd: TestEtcd
  let proxy: TcpProxy
  /** Writes and compacts, never cut off. */
  let direct: Etcd3
  /** Reaches etcd only through the proxy: the watchPrefix client. */
  let watched: Etcd3
  let watch: PrefixWatch | undefined

  beforeAll(async () => {
    etcd = await startEtcd()
    proxy = await startTcpProxy(etcd.endpoint)
    direct = createEtcdClient([etcd.endpoint])
    watched = createEtcdClient([proxy.endpoint], { callTimeoutMs: 2000 })
  }, 30_000)

  afterAll(async () => {
    await watch?.stop()
    watched?.close()
    direct?.close()
    await proxy?.close()
    await etcd?.stop()
  }, 30_000)

  const inEtcd = async (prefix: string) => {
    const kvs = await direct.getAll().prefix(`/${prefix}/`).strings()
    return new Map(Object.entries(kvs).map(([k, v]) => [k.slice(`/${prefix}/`.length), v]))
  }
  /** Watches etcd holds, from its own metrics: what a leaked watcher would show up in. */
  const watchersInEtcd = async () => {
    const metrics = await (await fetch(`http://${etcd.endpoint}/metrics`)).text()
    return Number(/^etcd_debugging_mvcc_watcher_total (\S+)$/m.exec(metrics)?.[1])
  }
  /** With the watch cut off: enough history that its resume revision falls before the compaction. */
  const writeAndCompact = async (prefix: string) => {
    for (const n of ['b', 'c', 'd']) await direct.put(`/${prefix}/${n}`).value(`127.0.0.1:${n.charCodeAt(0)}`)
    await direct.delete().key(`/${prefix}/a`)
    const { header } = await direct.put(`/${prefix}-other`).value('x').exec()
    await direct.kv.compact({ revision: header.revision, physical: true })
  }

  it('re-creates the watch after a compaction during a disconnect, and says so', async () => {
    const states: PrefixState[] = []
    const errors: unknown[] = []
    const rewatches: string[] = []
    const PREFIX = `${RUN}/one`
    const key = (name: string) => `/${PREFIX}/${name}`
    // A resync period far beyond the test: only the watch can deliver a change in time.
    watch = await watchPrefix(watched, PREFIX, {
      resyncMs: 60_000,
      onChange: (s) => states.push(s),
      onError: (e) => errors.push(e),
      onRewatch: (m) => rewatches.push(m),
    })
    const latest = () => states.at(-1)?.entries ?? new Map<string, string>()

    await direct.put(key('a')).value('127.0.0.1:1')
    await pollUntil(() => latest().get('a') === '127.0.0.1:1', { timeoutMs: 3000, what: 'a put through the watch' })

    proxy.cut()
    await pollUntil(() => errors.length > 0, { timeoutMs: 5000, what: 'the watch to see the disconnect' })
    await writeAndCompact(PREFIX)
    proxy.resume()

    const cutWrites = async () => JSON.stringify([...latest()].sort()) === JSON.stringify([...(await inEtcd(PREFIX))].sort())
    await pollUntil(cutWrites, { timeoutMs: 10_000, what: 'the writes made during the cut after reconnecting' })
    // Else the next put could arrive through the re-creation's own read, not through the watch.
    await pollUntil(() => rewatches.length > 0, { timeoutMs: 5000, what: 'the watch to be re-created' })

    await direct.put(key('e')).value('127.0.0.1:5')
    await pollUntil(() => latest().get('e') === '127.0.0.1:5', { timeoutMs: 3000, what: 'a put after the compaction, through the watch' })
    expect(latest()).toEqual(await inEtcd(PREFIX))
    expect(rewatches).toEqual([expect.stringMatching(/re-created from revision \d+ after a compaction \(it was to resume at revision 3\)/)])

    // The re-created watch is the only one, and stop() cancels it.
    expect(await watchersInEtcd()).toBe(1)
    await watch.stop()
    watch = undefined
    await pollUntil(async () => (await watchersInEtcd()) === 0, { timeoutMs: 3000, what: 'no watcher left in etcd' })
  }, 20_000)

  it('backs off while etcd stays away after canceling the watch, and stops promptly', async () => {
    const PREFIX = `${RUN}/two`
    const errorsAt: number[] = []
    let canceledAt = 0
    watch = await watchPrefix(watched, PREFIX, {
      resyncMs: 60_000,
      onChange: () => undefined,
      onError: (e) => {
        errorsAt.push(Date.now())
        // Cut again the moment etcd cancels the resumed watch: every re-creation now fails.
        if (!canceledAt && /Watcher canceled/.test(String(e))) {
          canceledAt = Date.now()
          proxy.cut()
        }
      },
    })
    await direct.put(`/${PREFIX}/a`).value('127.0.0.1:1')
    proxy.cut()
    await pollUntil(() => errorsAt.length > 0, { timeoutMs: 5000, what: 'the watch to see the disconnect' })
    await writeAndCompact(PREFIX)
    proxy.resume()
    await pollUntil(() => canceledAt > 0, { timeoutMs: 10_000, what: 'etcd to cancel the resumed watch' })

    // A measuring window, not a wait for readiness: how often it retries against a dead etcd.
    await new Promise((r) => setTimeout(r, 2000))
    const attempts = errorsAt.filter((t) => t > canceledAt).length
    expect(attempts).toBeGreaterThan(0)
    expect(attempts).toBeLessThan(10) // 250 ms doubling: ~3; a loop without backoff makes hundreds

    const t0 = Date.now()
    await watch.stop()
    watch = undefined
    // It was sleeping off a failure: stop() ends the sleep rather than waiting it out.
    expect(Date.now() - t0).toBeLessThan(500)
    proxy.resume()
  }, 20_000)
})
