import type { Etcd3 } from 'etcd3'
import { withEtcd } from './etcd-errors.js'

/** One write to etcd; a list of them is applied atomically (one transaction). */
export type KvOp = { op: 'put'; key: string; value: string } | { op: 'delete'; key: string }

/**
 * Every etcd write forrest makes goes through a writer: unconditional for `forrest launch` and
 * the gateway, conditioned on holding the app's lock for a rollout (lock.ts). Returns the etcd
 * revision of the write, which gateway acknowledgements are compared against.
 */
export interface KvWriter {
  write(ops: KvOp[]): Promise<number>
}

export const put = (key: string, value: string): KvOp => ({ op: 'put', key, value })
export const del = (key: string): KvOp => ({ op: 'delete', key })

/** The etcd3 builders for ops, to put in a transaction's `then`. */
export function toRequests(client: Etcd3, ops: KvOp[]) {
  return ops.map((o) => (o.op === 'put' ? client.put(o.key).value(o.value) : client.delete().key(o.key)))
}

/** Unconditional writes (a transaction whose compare always holds, so several ops stay atomic). */
export function plainWriter(client: Etcd3, hosts: string[]): KvWriter {
  return {
    async write(ops) {
      if (ops.length === 0) return 0
      const res = await withEtcd(hosts, () => client.if(ops[0]!.key, 'Create', '>', -1).then(...toRequests(client, ops)).commit(), undefined, describeOps(ops))
      return Number(res.header.revision)
    },
  }
}

/** "write /a, /b" for error messages (a permission denied names the keys). */
export const describeOps = (ops: KvOp[]) => `write ${ops.map((o) => o.key).join(', ')}`
