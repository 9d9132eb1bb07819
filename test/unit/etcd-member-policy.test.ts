/**
 * The per-member fault policy forrest gives etcd3 (src/registry/member-policy.ts), driven through
 * etcd3's own ConnectionPool (its exec/withConnection code, unchanged) with in-memory members in
 * place of gRPC clients: no I/O.
 *
 * The case that hung `forrest gateway` after an etcd member was SIGKILLed and started again
 * (test/integration/etcd-security.test.ts): the member's first answer after its restart is
 * "etcdserver: invalid auth token" (its simple tokens lived in memory), and etcd3 retries that
 * by calling exec() again *from inside* the member's policy. With a circuit breaker, that first
 * call was the breaker's half-open test; a retry that picks the same member waits for the test
 * to finish, which waits for the retry: neither ever ends, no gRPC call is made (so no deadline
 * fires), and every later call that picks that member waits behind them too.
 */
import * as grpc from '@grpc/grpc-js'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ConnectionPool } from 'etcd3/lib/connection-pool.js'
import { memberPolicy } from '../../src/registry/member-policy.js'

type Answer = 'ok' | 'unavailable' | 'invalid-token'

/** A pool over members a, b, c whose KV.range answers come from `script` (per member, in order; then 'ok'). */
function poolOf(script: Record<string, Answer[]>) {
  const urls = ['a', 'b', 'c'].map((m) => `http://${m}:2379`)
  const pool = new ConnectionPool({ hosts: urls, faultHandling: { global: memberPolicy(1), host: () => memberPolicy(urls.length, 500) } })
  const calls: string[] = []
  for (const host of (pool as unknown as { hosts: { host: string; getServiceClient: unknown }[] }).hosts) {
    const member = host.host.split(':')[0]!
    host.getServiceClient = () => ({
      range: (_req: unknown, _meta: unknown, _opts: unknown, cb: (err: Error | null, res?: unknown) => void) => {
        calls.push(member)
        const answer = script[member]?.shift() ?? 'ok'
        const err = answer === 'unavailable' ? Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: grpc.status.UNAVAILABLE }) : answer === 'invalid-token' ? Object.assign(new Error('3 INVALID_ARGUMENT: etcdserver: invalid auth token'), { code: grpc.status.INVALID_ARGUMENT }) : null
        queueMicrotask(() => cb(err, err ? undefined : { member }))
      },
    })
  }
  const range = () => pool.exec('KV', 'range', {} as never) as Promise<{ member: string }>
  return { pool, calls, range }
}

/** Settles within `ms` of fake time, or says it did not. */
async function settles<T>(p: Promise<T>, ms = 10_000): Promise<{ value?: T; error?: unknown; hung?: true }> {
  let out: { value?: T; error?: unknown } | undefined
  p.then((value) => (out = { value }), (error: unknown) => (out = { error }))
  for (let t = 0; t < ms && !out; t += 100) await vi.advanceTimersByTimeAsync(100)
  return out ?? { hung: true }
}

describe('the etcd member policy', () => {
  afterEach(() => {
    vi.useRealTimers()
    ConnectionPool.deterministicOrder = false
  })

  it("a restarted member's invalid-token answer, retried by etcd3 on that same member, completes instead of hanging", async () => {
    vi.useFakeTimers()
    ConnectionPool.deterministicOrder = true // etcd3 then tries c, b, a, c, b, a, ...
    const { calls, range } = poolOf({ c: ['unavailable', 'invalid-token'] })
    // c is killed: the call fails there (no retry in etcd3's pool: forrest retries with p-retry).
    expect((await settles(range())).error).toBeInstanceOf(Error)
    // c is back after its skip: its first answer is "invalid auth token", which etcd3 retries on c.
    await vi.advanceTimersByTimeAsync(600)
    const after = await settles(range())
    expect(after.hung, `calls so far: ${calls.join(' ')}`).toBeUndefined()
    expect(after.value).toEqual({ member: 'c' })
    // And c keeps answering.
    expect((await settles(range())).value).toEqual({ member: 'c' })
    expect(calls).toEqual(['c', 'c', 'c', 'c'])
  })

  it('skips a member for a while after it failed, so the next call goes to another one', async () => {
    vi.useFakeTimers()
    ConnectionPool.deterministicOrder = true
    const { calls, range } = poolOf({ c: ['unavailable'] })
    expect((await settles(range())).error).toBeInstanceOf(Error)
    expect((await settles(range())).value).toEqual({ member: 'b' })
    await vi.advanceTimersByTimeAsync(600)
    expect((await settles(range())).value).toEqual({ member: 'c' })
    expect(calls).toEqual(['c', 'b', 'c'])
  })

  it('with a single member, never skips it', async () => {
    const policy = memberPolicy(1)
    await expect(policy.execute(() => Promise.reject(Object.assign(new Error('down'), {})))).rejects.toThrow('down')
    await expect(policy.execute(() => 'ok')).resolves.toBe('ok')
  })
})
