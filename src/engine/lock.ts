import type { Context } from '../context.js'
import { instanceKey, lockKey } from '../plan/keys.js'
import { gatewayCheckPrefix } from '../registry/gateway-acks.js'
import type { KvWriter } from '../registry/kv-writer.js'
import { acquireLock, type DeployLock } from '../registry/lock.js'
import { Records } from '../registry/records.js'
import { probeWritePermission } from '../registry/write-probe.js'
import type { RolloutRequest } from './types.js'

/** The lock phase's output: the lock (none on a dry run) and the records, written through it. */
export interface Held {
  lock?: DeployLock
  writer: KvWriter
  records: Records
}

/** Lock: take the app's lock (a dry run takes none); every etcd write after this is fenced by it. */
export async function lockApp(ctx: Context, req: RolloutRequest): Promise<Held> {
  let lock: DeployLock | undefined
  if (!req.dryRun) {
    lock = await acquireLock(ctx.etcd, ctx.config.etcdHosts, lockKey(ctx.config.recordsRoot, req.spec.name), req, { waitMs: req.waitLockMs, ttlSeconds: ctx.config.lockTtlSec })
  }
  try {
    // Every key the rollout writes, before anything changes: a role that cannot write one fails now (exit 15).
    const app = req.spec.name
    const prefix = req.spec.announce.prefix
    if (lock) await probeWritePermission(ctx.etcd, ctx.config.etcdHosts, [instanceKey(prefix, `${app}-r0-0`), `/${ctx.config.recordsRoot}/apps/${app}/current`, gatewayCheckPrefix(prefix, ctx.config.recordsRoot) + `${app}-r0-0`])
  } catch (err) {
    await lock?.release()
    throw err
  }
  // Every etcd write of the rollout is fenced by the lock (a dry run writes nothing).
  const writer = lock?.writer ?? ctx.writer
  return { lock, writer, records: new Records(ctx.etcd, ctx.config.etcdHosts, ctx.config.recordsRoot, writer) }
}
