import type { Etcd3 } from 'etcd3'
import { keyPrefix } from '../plan/keys.js'
import { withEtcd } from './etcd-errors.js'
import { del, put, type KvOp, type KvWriter } from './kv-writer.js'

/**
 * Instance keys in the confd-friendly layout `/<prefix>/<name> = ip:port`, one per healthy,
 * serving instance. Announce and withdraw return the etcd revision of the change, which the
 * gateway acknowledgements are compared against; `with` ops (records) go in the same transaction.
 */
export class InstanceRegistry {
  constructor(
    private readonly client: Etcd3,
    private readonly hosts: string[],
    private readonly writer: KvWriter,
    /** A key inside forrest's records root: readable with forrest's role. */
    private readonly pingKey = '/forrest/ping',
  ) {}

  /** Fails fast with ETCD_UNREACHABLE when no endpoint answers; returns the etcd cluster id. */
  async check(): Promise<string> {
    const res = await withEtcd(this.hosts, () => this.client.get(this.pingKey).exec(), undefined, `read ${this.pingKey}`)
    return String(res.header.cluster_id)
  }

  announce(key: string, address: string, withOps: KvOp[] = []): Promise<number> {
    return this.writer.write([put(key, address), ...withOps])
  }

  /**
   * Announces only if nobody holds the key yet (one transaction: create revision 0), for
   * `forrest launch`, which holds no app's lock: undefined when the key exists.
   */
  async announceIfAbsent(key: string, address: string): Promise<number | undefined> {
    const res = await withEtcd(this.hosts, () => this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(address)).commit(), undefined, `write ${key}`)
    return res.succeeded ? Number(res.header.revision) : undefined
  }

  /** Deleting a key that is already gone is success. */
  withdraw(key: string, withOps: KvOp[] = []): Promise<number> {
    return this.writer.write([del(key), ...withOps])
  }

  /** Other keys that travel with the instances (their traffic weights), through the same fenced writer. */
  write(ops: KvOp[]): Promise<number> {
    return this.writer.write(ops)
  }

  async get(key: string): Promise<string | null> {
    return withEtcd(this.hosts, () => this.client.get(key).string())
  }

  /**
   * name → ip:port for every key directly under the prefix (any spelling of it), or only those
   * whose name starts with `namePrefix` (one range read either way).
   */
  async list(prefix: string, namePrefix = ''): Promise<Map<string, string>> {
    const base = keyPrefix(prefix)
    const all = await withEtcd(this.hosts, () => this.client.getAll().prefix(base + namePrefix).strings(), undefined, `read ${base}${namePrefix}`)
    const out = new Map<string, string>()
    for (const [key, value] of Object.entries(all)) {
      const name = key.slice(base.length)
      if (name && !name.includes('/')) out.set(name, value)
    }
    return out
  }
}
