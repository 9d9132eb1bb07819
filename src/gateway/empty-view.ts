import type { EtcdClient } from '../registry/client.js'
import { normalizePrefix } from '../config.js'
import type { CurrentRecord, RevisionRecord, TargetRecord } from '../registry/records.js'

/** forrest's records of every app, as the empty-view guard reads them (keyed by app; revisions by `app/n`). */
export interface AppRecords {
  current: Map<string, CurrentRecord>
  revisions: Map<string, RevisionRecord>
  /** The target a rollout to 0 instances recorded before its first withdrawal (settle replaces it). */
  targets: Map<string, TargetRecord>
}

/**
 * Whether an empty prefix is real: some app forrest has records of is announced under `prefix`
 * and every such app is at 0 there — its current replica count is 0, or a rollout under way
 * recorded a target of 0 instances of a revision announced there — or a rollout in progress moves
 * it between this prefix and another (the move keeps the bounds on both prefixes, so either may go
 * empty). Otherwise (a wrong --prefix, an etcd restored from an old backup, records of another
 * root) the gateway keeps its servers. Pure: emptyViewConfirmed reads the records.
 */
export function emptyViewDecision(records: AppRecords, prefix: string): boolean {
  const { current, revisions, targets } = records
  const p = normalizePrefix(prefix)
  const prefixOf = (r: RevisionRecord | undefined) => normalizePrefix(r?.spec.announce.prefix ?? '')
  const at = (app: string, n: number | undefined) => (n === undefined ? undefined : revisions.get(`${app}/${n}`))
  const newer = (app: string, c: CurrentRecord | undefined) =>
    [...revisions].filter(([key, r]) => key.startsWith(`${app}/`) && r.revision > (c?.revision ?? 0) && r.outcome === 'in-progress').map(([, r]) => r)
  // A prefix move in progress (or being rolled back): its rollout keeps the bounds on both prefixes, so either may go empty.
  const moving = (app: string, c: CurrentRecord | undefined) => c !== undefined && newer(app, c).some((r) => prefixOf(r) !== prefixOf(at(app, c.revision)))
  const toZero = (app: string) => {
    const t = targets.get(app)
    return t !== undefined && t.replicas === 0 && at(app, t.revision) !== undefined && prefixOf(at(app, t.revision)) === p
  }
  const apps = new Set([...current.keys(), ...targets.keys()])
  const here = [...apps].filter((app) => {
    const c = current.get(app)
    return (c && prefixOf(at(app, c.revision)) === p) || newer(app, c).some((r) => prefixOf(r) === p) || toZero(app)
  })
  return here.length > 0 && here.every((app) => {
    const c = current.get(app)
    return (c !== undefined && c.replicas === 0 && prefixOf(at(app, c.revision)) === p) || toZero(app) || moving(app, c)
  })
}

/** Reads forrest's records once and decides (emptyViewDecision); only asked when the view is empty while HAProxy still has servers. */
export async function emptyViewConfirmed(client: EtcdClient, prefix: string, root = 'forrest'): Promise<boolean> {
  const base = `/${normalizePrefix(root)}/apps/`
  const all = await client.getAll().prefix(base).strings()
  const records: AppRecords = { current: new Map(), revisions: new Map(), targets: new Map() }
  for (const [key, value] of Object.entries(all)) {
    const [app, kind, n] = key.slice(base.length).split('/')
    if (!app) continue
    if (kind === 'current' && n === undefined) records.current.set(app, JSON.parse(value) as CurrentRecord)
    if (kind === 'target' && n === undefined) records.targets.set(app, JSON.parse(value) as TargetRecord)
    if (kind === 'revisions' && n) records.revisions.set(`${app}/${Number(n)}`, JSON.parse(value) as RevisionRecord)
  }
  return emptyViewDecision(records, prefix)
}
