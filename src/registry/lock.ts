import createDebug from 'debug'
import type { Etcd3, Lease } from 'etcd3'
import { hostname } from 'node:os'
import { ForrestError } from '../errors.js'
import { withEtcd } from './etcd-errors.js'

const debug = createDebug('forrest:lock')

export interface LockHolder {
  actor: string
  host: string
  pid: number
  since: string
  command: string
}

export interface DeployLock {
  holder: LockHolder
  release(): Promise<void>
}

/**
 * One deploy at a time per app. The lock is a key bound to an etcd lease that this process
 * keeps alive: if the CI job dies, the lease expires (ttl seconds) and the lock frees itself.
 */
export async function acquireLock(
  client: Etcd3,
  hosts: string[],
  key: string,
  who: { actor: string; command: string },
  opts: { ttlSeconds?: number; waitMs?: number } = {},
): Promise<DeployLock> {
  const holder: LockHolder = { actor: who.actor, host: hostname(), pid: process.pid, since: new Date().toISOString(), command: who.command }
  const deadline = Date.now() + (opts.waitMs ?? 0)
  for (;;) {
    const lease = client.lease(opts.ttlSeconds ?? 10)
    lease.on('lost', (err) => debug('lock lease lost: %s', err?.message))
    const id = await withEtcd(hosts, () => lease.grant())
    const res = await withEtcd(hosts, () =>
      client.if(key, 'Create', '==', 0).then(client.put(key).value(JSON.stringify(holder)).lease(id)).else(client.get(key)).commit(),
      0, // a txn whose answer was lost must not be repeated blindly
    )
    if (res.succeeded) {
      debug('acquired %s', key)
      return { holder, release: () => releaseLease(lease) }
    }
    await lease.revoke().catch(() => undefined)
    const raw = res.responses[0]?.response_range?.kvs[0]?.value?.toString()
    const other = raw ? (JSON.parse(raw) as LockHolder) : undefined
    const remaining = deadline - Date.now()
    if (remaining <= 0) throw lockHeld(key, other, opts.waitMs)
    await waitForDelete(client, hosts, key, remaining)
  }
}

async function releaseLease(lease: Lease): Promise<void> {
  await lease.revoke().catch((err) => debug('revoke failed (lease will expire): %s', err?.message))
}

/** Waits on a watch (not a sleep) until the key is deleted or the time is up. */
async function waitForDelete(client: Etcd3, hosts: string[], key: string, ms: number): Promise<void> {
  const watcher = await withEtcd(hosts, () => client.watch().key(key).create())
  try {
    const exists = await withEtcd(hosts, () => client.get(key).string())
    if (exists === null) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms) // the --wait-lock deadline
      watcher.on('delete', () => {
        clearTimeout(timer)
        resolve()
      })
    })
  } finally {
    await watcher.cancel().catch(() => undefined)
  }
}

export function lockHeld(key: string, holder: LockHolder | undefined, waitedMs?: number): ForrestError {
  const who = holder ? `${holder.actor} on ${holder.host} (pid ${holder.pid}, ${holder.command}) since ${holder.since}` : 'another process'
  return new ForrestError('LOCK_HELD', `${key.split('/').at(-1)} is being changed by ${who}${waitedMs ? `; waited ${Math.round(waitedMs / 1000)}s` : ''}`, {
    suggestion: 'Wait for it to finish, or pass --wait-lock[=DURATION]. A crashed holder frees the lock by itself within seconds (etcd lease).',
    detail: { holder },
  })
}

export async function readLock(client: Etcd3, hosts: string[], key: string): Promise<LockHolder | undefined> {
  const raw = await withEtcd(hosts, () => client.get(key).string())
  return raw ? (JSON.parse(raw) as LockHolder) : undefined
}
