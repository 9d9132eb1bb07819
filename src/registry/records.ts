import type { Etcd3 } from 'etcd3'
import type { CanaryAnalysis } from '../plan/canary.js'
import type { DeploymentSpec } from '../spec/types.js'
import { withEtcd } from './etcd-errors.js'
import { del, put, type KvOp, type KvWriter } from './kv-writer.js'

/**
 * forrest's own records, under a root separate from the instance keys (default /forrest):
 *   /forrest/apps/<app>/revisions/<000001>  RevisionRecord (full spec, image id, who, outcome)
 *   /forrest/apps/<app>/current             CurrentRecord (revision + replica count)
 *   /forrest/apps/<app>/target              TargetRecord (a rollout to 0 instances in progress)
 *   /forrest/apps/<app>/instances/<name>    InstanceRecord (container, host, revision)
 *   /forrest/apps/<app>/events/<ms>         EventRecord (short deploy log)
 */
/** waiting: its canary passed and it holds there for `forrest promote` or `forrest abort` (update.canary.pause). */
export type Outcome = 'in-progress' | 'waiting' | 'succeeded' | 'rolled-back' | 'failed'

export interface RevisionRecord {
  revision: number
  spec: DeploymentSpec
  imageId: string
  /**
   * The registry's manifest digest (sha256:...) the image tag resolved to when the revision was
   * made: every instance of it, on every host, runs `name@digest`, and scale and rollback pull
   * exactly that. Absent for an image built or loaded on the host (it runs by imageId).
   */
  digest?: string
  templateHash: string
  /** Secret env name → keyed fingerprint; the values themselves are never stored. */
  secretFingerprints?: Record<string, string>
  createdAt: string
  author: string
  outcome: Outcome
  /** Set when this revision was made by `forrest rollback` restoring an older one. */
  restoredFrom?: number
  /** What changed from the revision before (human lines). */
  changes: string[]
  /** update.canary: the figures and verdict of this revision's canary analysis. */
  canary?: CanaryAnalysis
}

export interface CurrentRecord {
  revision: number
  replicas: number
  updatedAt: string
  by: string
  /** Set when `forrest scale` changed the count after the last deploy. */
  scaled?: { replicas: number; at: string; by: string }
  /** Workers' replica counts by process (web's is `replicas`); absent for an app of one process. */
  processes?: Record<string, number>
}

/**
 * What a rollout whose target is 0 instances (scale to 0, a deploy with replicas: 0) is taking the
 * app to, written under the lock before its first withdrawal: the gateway's empty-view guard lets
 * the app's prefix go empty on it. Settle replaces it with the current record; a failed or
 * rolled-back run clears it; one a killed run left is cleared by the next run under the lock.
 */
export interface TargetRecord {
  replicas: number
  revision: number
  at: string
  by: string
}

export interface InstanceRecord {
  name: string
  container: string
  /** The Docker host's name, for people. */
  host: string
  /** The Docker engine's ID: a key is withdrawn as stale only when this engine shows no container for it. */
  engine?: string
  revision: number
  address: string
  /** The etcd prefix the instance key is under. */
  prefix?: string
}

export interface EventRecord {
  at: string
  kind: string
  message: string
  by: string
  revision?: number
}

const pad = (n: number) => String(n).padStart(6, '0')
const MAX_EVENTS = 50

export class Records {
  constructor(
    private readonly client: Etcd3,
    private readonly hosts: string[],
    private readonly root: string,
    /** Every write goes through it: fenced by the app's lock during a rollout. */
    private readonly writer: KvWriter,
    private readonly keep = 10,
  ) {}

  private appKey(app: string, ...rest: string[]) {
    return [`/${this.root}/apps/${app}`, ...rest].join('/')
  }

  private async getJson<T>(key: string): Promise<T | undefined> {
    const v = await withEtcd(this.hosts, () => this.client.get(key).string(), undefined, `read ${key}`)
    return v === null ? undefined : (JSON.parse(v) as T)
  }

  private async putJson(key: string, value: unknown): Promise<void> {
    await this.writer.write([put(key, JSON.stringify(value))])
  }

  private async listJson<T>(prefix: string): Promise<Array<[string, T]>> {
    const all = await withEtcd(this.hosts, () => this.client.getAll().prefix(prefix).sort('Key', 'Ascend').strings(), undefined, `read ${prefix}`)
    return Object.entries(all).map(([k, v]) => [k.slice(prefix.length), JSON.parse(v) as T])
  }

  async apps(): Promise<string[]> {
    const keys = await withEtcd(this.hosts, () => this.client.getAll().prefix(`/${this.root}/apps/`).keys().then((ks) => ks.map(String)))
    const names = new Set<string>()
    for (const k of keys) if (k.endsWith('/current')) names.add(k.split('/').slice(-2)[0]!)
    return [...names].sort()
  }

  current(app: string) {
    return this.getJson<CurrentRecord>(this.appKey(app, 'current'))
  }

  setCurrent(app: string, rec: CurrentRecord) {
    return this.putJson(this.appKey(app, 'current'), rec)
  }

  target(app: string) {
    return this.getJson<TargetRecord>(this.appKey(app, 'target'))
  }

  /** Records a rollout's target before it withdraws anything (fenced, like every rollout write). */
  setTarget(app: string, rec: TargetRecord) {
    return this.putJson(this.appKey(app, 'target'), rec)
  }

  clearTarget(app: string) {
    return this.writer.write([del(this.appKey(app, 'target'))])
  }

  revision(app: string, n: number) {
    return this.getJson<RevisionRecord>(this.appKey(app, 'revisions', pad(n)))
  }

  /** Revisions, oldest first. */
  async revisions(app: string): Promise<RevisionRecord[]> {
    return (await this.listJson<RevisionRecord>(this.appKey(app, 'revisions') + '/')).map(([, r]) => r)
  }

  /** Writes a revision and trims history to `keep` entries, never dropping the current one. */
  async putRevision(app: string, rec: RevisionRecord, current?: number): Promise<void> {
    await this.putJson(this.appKey(app, 'revisions', pad(rec.revision)), rec)
    const all = await this.revisions(app)
    const excess = all.filter((old) => old.revision !== current && old.revision !== rec.revision).slice(0, Math.max(0, all.length - this.keep))
    await this.writer.write(excess.map((old) => del(this.appKey(app, 'revisions', pad(old.revision)))))
  }

  /** Records a canary analysis on its revision (history shows it). */
  async setCanary(app: string, n: number, canary: CanaryAnalysis): Promise<void> {
    const rec = await this.revision(app, n)
    if (rec) await this.putJson(this.appKey(app, 'revisions', pad(n)), { ...rec, canary })
  }

  async setOutcome(app: string, n: number, outcome: Outcome): Promise<void> {
    const rec = await this.revision(app, n)
    if (rec && rec.outcome !== outcome) await this.putJson(this.appKey(app, 'revisions', pad(n)), { ...rec, outcome })
  }

  /**
   * The end of a successful rollout: the current pointer and the revision's outcome in one
   * transaction, so a crash can never leave a serving revision recorded as in-progress; the
   * current record replaces the rollout's target (if it recorded one) in the same transaction.
   */
  async settle(app: string, current: CurrentRecord, rec: RevisionRecord): Promise<void> {
    const ops = [put(this.appKey(app, 'current'), JSON.stringify(current)), del(this.appKey(app, 'target'))]
    if (rec.outcome !== 'succeeded') ops.push(put(this.appKey(app, 'revisions', pad(rec.revision)), JSON.stringify({ ...rec, outcome: 'succeeded' })))
    await this.writer.write(ops)
  }

  async instances(app: string): Promise<Map<string, InstanceRecord>> {
    return new Map((await this.listJson<InstanceRecord>(this.appKey(app, 'instances') + '/')).map(([k, v]) => [k, v]))
  }

  /** The op that records an instance (written in the same transaction as its key). */
  putInstanceOp(app: string, rec: InstanceRecord): KvOp {
    return put(this.appKey(app, 'instances', rec.name), JSON.stringify(rec))
  }

  deleteInstanceOp(app: string, name: string): KvOp {
    return del(this.appKey(app, 'instances', name))
  }

  async deleteInstances(app: string, names: string[]): Promise<void> {
    await this.writer.write(names.map((n) => this.deleteInstanceOp(app, n)))
  }

  async event(app: string, ev: EventRecord): Promise<void> {
    await this.putJson(this.appKey(app, 'events', String(Date.parse(ev.at)).padStart(14, '0')), ev)
    const prefix = this.appKey(app, 'events') + '/'
    const keys = await withEtcd(this.hosts, () => this.client.getAll().prefix(prefix).sort('Key', 'Ascend').keys())
    await this.writer.write(keys.slice(0, Math.max(0, keys.length - MAX_EVENTS)).map((k) => del(String(k))))
  }

  async events(app: string): Promise<EventRecord[]> {
    return (await this.listJson<EventRecord>(this.appKey(app, 'events') + '/')).map(([, e]) => e)
  }
}
