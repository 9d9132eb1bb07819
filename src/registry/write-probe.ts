import type { Etcd3 } from 'etcd3'
import { withEtcd } from './etcd-errors.js'

/**
 * Checks that etcd lets this user write every key in `keys`, writing nothing:
 * one transaction whose compare never holds. etcd checks the permissions of every operation in
 * both branches of a transaction before evaluating it, so a key the role does not cover fails
 * the whole transaction with "permission denied" (ETCD_PERMISSION_DENIED, exit 15), and a
 * permitted one changes nothing. A rollout asks before it creates a container or records a
 * revision, so a read-only role fails with nothing changed.
 */
export async function probeWritePermission(client: Etcd3, hosts: string[], keys: string[]): Promise<void> {
  if (keys.length === 0) return
  // One op per key (etcd refuses a key twice in a txn); put and delete need the same write permission.
  const ops = keys.map((k) => client.put(k).value(''))
  await withEtcd(hosts, () => client.if(keys[0]!, 'Create', '<', 0).then(...ops).commit(), undefined, `write ${keys.join(', ')}`)
}
