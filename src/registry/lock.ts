import createDebug from 'debug'
import type { Etcd3, Lease } from 'etcd3'
import { hostname } from 'node:os'
import { ForrestError } from '../errors.js'
import { notice } from '../notices.js'
import { withEtcd } from './etcd-errors.js'
import { describeOps, toRequests, type KvWriter } from './kv-writer.js'

const debug = createDebug('forrest:lock')

export interface LockHolder {
  actor: string
  host: string
  pid: number
  since: string
  command: string
}

/**
 * The app's deploy lock, with fencing: a lease can expire while its holder is frozen (SIGSTOP, a
 * VM pause, a partition) and another deploy takes over. So every etcd write of a rollout goes
 * through `writer`, a transaction that only applies while the lock key still carries this lease,
 * and every Docker change is preceded by `assertHeld()`, which fails without a round trip once
 * the lease is lost or has gone unconfirmed for too long to be sure of it.
 */
export interface DeployLock {
  holder: LockHolder
  key: string
  writer: KvWriter
  /** Aborted (reason: a LOCK_LOST error) as soon as the lease is known lost. */
  lost: AbortSignal
  assertHeld(): void
  release(): Promise<void>
}

export async function acquireLock(
  client: Etcd3,
  hosts: string[],
  key: string,
  who: { actor: string; command: string },
  opts: { ttlSeconds?: number; waitMs?: number } = {},
): Promise<DeployLock> {
  const holder: LockHolder = { actor: who.actor, host: hostname(), pid: process.pid, since: new Date().toISOString(), command: who.command }
  const ttl = opts.ttlSeconds ?? 10
  const started = Date.now()
  const deadline = started + (opts.waitMs ?? 0)
  for (;;) {
    const lease = client.lease(ttl)
    const controller = new AbortController()
    lease.on('lost', (err) => {
      debug('lock lease lost: %s', err?.message)
      controller.abort(lockLost(key, 'its etcd lease expired'))
    })
    const id = await withEtcd(hosts, () => lease.grant())
    const res = await withEtcd(hosts, () =>
      client.if(key, 'Create', '==', 0).then(client.put(key).value(JSON.stringify(holder)).lease(id)).else(client.get(key)).commit(),
      0, // a txn whose answer was lost must not be repeated blindly
      `take the lock ${key}`,
    )
    if (res.succeeded) {
      debug('acquired %s (lease %s, ttl %ds)', key, id, ttl)
      return fencedLock(client, hosts, key, holder, lease, id, ttl, controller)
    }
    await lease.revoke().catch(() => undefined)
    const kv = res.responses[0]?.response_range?.kvs[0]
    const other = kv?.value ? (JSON.parse(kv.value.toString()) as LockHolder) : undefined
    const describe = () => describeHolder(client, other, kv?.lease)
    const remaining = deadline - Date.now()
    if (remaining <= 0) throw lockHeld(key, await describe(), opts.waitMs, other)
    const say = async () =>
      notice(`${key.split('/').at(-1)}: waiting for the lock, held by ${await describe()}; waited ${Math.round((Date.now() - started) / 1000)}s of ${Math.round((opts.waitMs ?? 0) / 1000)}s`)
    await waitForDelete(client, hosts, key, remaining, say)
  }
}

/** How often a --wait-lock wait says who it waits on. */
const WAIT_NOTICE_EVERY_MS = 5000

/**
 * Who holds the lock, for humans: its record, and when its process is gone (same host, no such
 * pid: killed, crashed) the seconds until its etcd lease expires and frees the lock.
 */
async function describeHolder(client: Etcd3, holder: LockHolder | undefined, leaseId: string | undefined): Promise<string> {
  if (!holder) return 'another process'
  const who = `${holder.actor} on ${holder.host} (pid ${holder.pid}, ${holder.command}) since ${holder.since}`
  if (!processGone(holder)) return who
  const ttl = await leaseSecondsLeft(client, leaseId)
  const frees = ttl !== undefined ? `; its etcd lease frees the lock in ${ttl}s` : '; its etcd lease frees the lock within seconds'
  return `${who}, which is no longer running${frees}`
}

/** The holder ran on this host and its pid is gone (EPERM: alive, another user's). */
function processGone(holder: LockHolder): boolean {
  if (holder.host !== hostname() || holder.pid === process.pid || !Number.isInteger(holder.pid) || holder.pid <= 0) return false
  try {
    process.kill(holder.pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

function fencedLock(client: Etcd3, hosts: string[], key: string, holder: LockHolder, lease: Lease, id: string, ttl: number, controller: AbortController): DeployLock {
  let confirmedAt = Date.now()
  lease.on('keepaliveSucceeded', () => (confirmedAt = Date.now()))
  // Keepalives go every ttl/3: a lease unconfirmed for most of its ttl may already be gone.
  const unsureAfterMs = ttl * 1000 - Math.min(2000, (ttl * 1000) / 3)
  const assertHeld = () => {
    if (!controller.signal.aborted && Date.now() - confirmedAt > unsureAfterMs) {
      controller.abort(lockLost(key, `its etcd lease was not confirmed for ${Math.round((Date.now() - confirmedAt) / 1000)}s (process frozen or etcd unreachable)`))
    }
    if (controller.signal.aborted) throw controller.signal.reason
  }
  return {
    holder,
    key,
    lost: controller.signal,
    assertHeld,
    writer: {
      async write(ops) {
        assertHeld()
        if (ops.length === 0) return 0
        const res = await withEtcd(hosts, () => client.if(key, 'Lease', '==', id).then(...toRequests(client, ops)).commit(), undefined, describeOps(ops))
        if (!res.succeeded) {
          controller.abort(lockLost(key, 'another process holds it now'))
          throw controller.signal.reason
        }
        return Number(res.header.revision)
      },
    },
    // Revoking only ever deletes keys of this lease: a lost lock's new holder is unaffected.
    release: async () => {
      await lease.revoke().catch((err) => debug('revoke failed (lease will expire): %s', err?.message))
    },
  }
}

export function lockLost(key: string, why: string): ForrestError {
  return new ForrestError('LOCK_LOST', `lost the lock ${key} mid-rollout: ${why}; stopped before touching Docker or etcd again`, {
    suggestion: 'Another deploy may have taken over: check `forrest status` and `forrest history`, then run the command again if needed.',
  })
}

/** Waits on a watch (not a sleep) until the key is deleted or the time is up, saying so every few seconds. */
async function waitForDelete(client: Etcd3, hosts: string[], key: string, ms: number, say: () => Promise<void>): Promise<void> {
  const watcher = await withEtcd(hosts, () => client.watch().key(key).create())
  let ticker: NodeJS.Timeout | undefined
  try {
    const exists = await withEtcd(hosts, () => client.get(key).string())
    if (exists === null) return
    await say().catch(() => undefined)
    ticker = setInterval(() => void say().catch(() => undefined), WAIT_NOTICE_EVERY_MS) // progress while waiting on the lock
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms) // the --wait-lock deadline
      watcher.on('delete', () => {
        clearTimeout(timer)
        resolve()
      })
    })
  } finally {
    clearInterval(ticker)
    await watcher.cancel().catch(() => undefined)
  }
}

export function lockHeld(key: string, who: string, waitedMs?: number, holder?: LockHolder): ForrestError {
  return new ForrestError('LOCK_HELD', `${key.split('/').at(-1)} is being changed by ${who}${waitedMs ? `; waited ${Math.round(waitedMs / 1000)}s` : ''}; nothing was changed`, {
    suggestion: 'Wait for it to finish, or pass --wait-lock[=DURATION]. A crashed holder frees the lock by itself within seconds (etcd lease).',
    detail: { holder },
  })
}

/** The lock's holder; `gone` when its process (on this host) no longer runs, with its lease's seconds left. */
export async function readLock(client: Etcd3, hosts: string[], key: string): Promise<(LockHolder & { gone?: { leaseSec?: number } }) | undefined> {
  const kv = (await withEtcd(hosts, () => client.get(key).exec())).kvs[0]
  if (!kv) return undefined
  const holder = JSON.parse(kv.value.toString()) as LockHolder
  if (!processGone(holder)) return holder
  const leaseSec = await leaseSecondsLeft(client, kv.lease)
  return { ...holder, gone: leaseSec === undefined ? {} : { leaseSec } }
}

const leaseSecondsLeft = async (client: Etcd3, leaseId: string | undefined): Promise<number | undefined> => {
  if (!leaseId || leaseId === '0') return undefined
  const ttl = await client.leaseClient.leaseTimeToLive({ ID: leaseId }).then((r) => Number(r.TTL), () => undefined)
  return ttl !== undefined && ttl >= 0 ? ttl : undefined
}
