import type { Etcd3 } from 'etcd3'
import { withEtcd } from './etcd-errors.js'
import { del, put, type KvWriter } from './kv-writer.js'

/**
 * A Docker host's availability, shared by every app and every CI job, beside the apps' records:
 *   /forrest/hosts/<name>   HostAvailabilityRecord (no key: the host is active)
 * cordoned: no new instance of any app is placed there; what runs there stays.
 * draining: cordoned, and `forrest host drain` is moving every app's instances off it (a deploy
 *   from anywhere moves them too); a drain that was interrupted resumes from this state.
 * drained: cordoned, and the last drain moved every instance off it.
 * Like Swarm's node availability (active / pause / drain). Written unfenced: it is not one app's;
 * each app's rollout reads it under that app's lock.
 */
export type HostAvailability = 'cordoned' | 'draining' | 'drained'

export interface HostAvailabilityRecord {
  availability: HostAvailability
  at: string
  by: string
}

export class HostAvailabilities {
  constructor(
    private readonly client: Etcd3,
    private readonly hosts: string[],
    private readonly root: string,
    private readonly writer: KvWriter,
  ) {}

  private key(name: string) {
    return `/${this.root}/hosts/${name}`
  }

  /** Every host that is not active, by name. */
  async list(): Promise<Map<string, HostAvailabilityRecord>> {
    const prefix = `/${this.root}/hosts/`
    const all = await withEtcd(this.hosts, () => this.client.getAll().prefix(prefix).strings(), undefined, `read ${prefix}`)
    return new Map(Object.entries(all).map(([k, v]) => [k.slice(prefix.length), JSON.parse(v) as HostAvailabilityRecord]))
  }

  async set(name: string, rec: HostAvailabilityRecord): Promise<void> {
    await this.writer.write([put(this.key(name), JSON.stringify(rec))])
  }

  /** Back to active. */
  async clear(name: string): Promise<void> {
    await this.writer.write([del(this.key(name))])
  }
}
