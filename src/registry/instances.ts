import type { Etcd3 } from 'etcd3'
import { withEtcd } from './etcd-errors.js'

/**
 * Instance keys in the confd-friendly layout `/<prefix>/<name> = ip:port`, one per healthy,
 * serving instance. Announce and withdraw return the etcd revision of the change, which the
 * gateway acknowledgements are compared against.
 */
export class InstanceRegistry {
  constructor(
    private readonly client: Etcd3,
    private readonly hosts: string[],
  ) {}

  /** Fails fast with ETCD_UNREACHABLE when no endpoint answers. */
  async check(): Promise<void> {
    await withEtcd(this.hosts, () => this.client.get('/forrest/ping').string())
  }

  async announce(key: string, address: string): Promise<number> {
    const res = await withEtcd(this.hosts, () => this.client.put(key).value(address).exec())
    return Number(res.header.revision)
  }

  /** Deleting a key that is already gone is success. */
  async withdraw(key: string): Promise<number> {
    const res = await withEtcd(this.hosts, () => this.client.delete().key(key).exec())
    return Number(res.header.revision)
  }

  async get(key: string): Promise<string | null> {
    return withEtcd(this.hosts, () => this.client.get(key).string())
  }

  /** name → ip:port for every key directly under the prefix. */
  async list(prefix: string): Promise<Map<string, string>> {
    const base = `/${prefix}/`
    const all = await withEtcd(this.hosts, () => this.client.getAll().prefix(base).strings())
    const out = new Map<string, string>()
    for (const [key, value] of Object.entries(all)) {
      const name = key.slice(base.length)
      if (name && !name.includes('/')) out.set(name, value)
    }
    return out
  }
}
