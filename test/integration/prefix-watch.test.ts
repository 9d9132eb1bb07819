import { randomUUID } from 'node:crypto'
import type { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEtcdClient } from '../../src/registry/client.js'
import { watchPrefix, type PrefixState, type PrefixWatch } from '../../src/registry/prefix-watch.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

const PREFIX = `test/pw-${randomUUID().slice(0, 8)}/servers`
const key = (name: string) => `/${PREFIX}/${name}`

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

  const inEtcd = async () => {
    const kvs = await direct.getAll().prefix(`/${PREFIX}/`).strings()
    return new Map(Object.entries(kvs).map(([k, v]) => [k.slice(`/${PREFIX}/`.length), v]))
  }

  it('keeps delivering changes through the watch after a compaction during a disconnect', async () => {
    const states: PrefixState[] = []
    const errors: unknown[] = []
    // A resync period far beyond the test: only the watch can deliver a change in time.
    watch = await watchPrefix(watched, PREFIX, { resyncMs: 60_000, onChange: (s) => states.push(s), onError: (e) => errors.push(e) })
    const latest = () => states.at(-1)?.entries ?? new Map<string, string>()

    await direct.put(key('a')).value('127.0.0.1:1')
    await pollUntil(() => latest().get('a') === '127.0.0.1:1', { timeoutMs: 3000, what: 'a put through the watch' })

    proxy.cut()
    await pollUntil(() => errors.length > 0, { timeoutMs: 5000, what: 'the watch to see the disconnect' })
    // While it is away, enough history that its resume revision falls before the compaction.
    for (const n of ['b', 'c', 'd']) await direct.put(key(n)).value(`127.0.0.1:${n.charCodeAt(0)}`)
    await direct.delete().key(key('a'))
    const { header } = await direct.put(`/${PREFIX}-other`).value('x').exec()
    await direct.kv.compact({ revision: header.revision, physical: true })
    proxy.resume()

    const cutWrites = async () => JSON.stringify([...latest()].sort()) === JSON.stringify([...(await inEtcd())].sort())
    await pollUntil(cutWrites, { timeoutMs: 10_000, what: 'the writes made during the cut after reconnecting' })

    await direct.put(key('e')).value('127.0.0.1:5')
    await pollUntil(() => latest().get('e') === '127.0.0.1:5', { timeoutMs: 3000, what: 'a put after the compaction, through the watch' })
    expect(latest()).toEqual(await inEtcd())
  }, 20_000)
})
