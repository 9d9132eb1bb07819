import type { EtcdClient } from '../registry/client.js'
import { normalizePrefix } from '../config.js'
import type { CurrentRecord, RevisionRecord } from '../registry/records.js'

/**
 * Whether an empty prefix is real: some app forrest has records of is announced under `prefix`
 * and every such app's current replica count is 0, or a rollout in progress moves it between this
 * prefix and another (the move keeps the bounds on both prefixes, so either may go empty). Otherwise (a wrong --prefix, an etcd restored
 * from an old backup, records of another root) the gateway keeps its servers. Reads forrest's
 * records once; only asked when the view is empty while HAProxy still has servers.
 */
export async function emptyViewConfirmed(client: EtcdClient, prefix: string, root = 'forrest'): Promise<boolean> {
  const base = `/${normalizePrefix(root)}/apps/`
  const all = await client.getAll().prefix(base).strings()
  const current = new Map<string, CurrentRecord>()
  const revisions = new Map<string, RevisionRecord>()
  for (const [key, value] of Object.entries(all)) {
    const [app, kind, n] = key.slice(base.length).split('/')
    if (!app) continue
    if (kind === 'current' && n === undefined) current.set(app, JSON.parse(value) as CurrentRecord)
    if (kind === 'revisions' && n) revisions.set(`${app}/${Number(n)}`, JSON.parse(value) as RevisionRecord)
  }
  const p = normalizePrefix(prefix)
  const prefixOf = (r: RevisionRecord | undefined) => normalizePrefix(r?.spec.announce.prefix ?? '')
  const newer = (app: string, c: CurrentRecord) => [...revisions].filter(([key, r]) => key.startsWith(`${app}/`) && r.revision > c.revision && r.outcome === 'in-progress').map(([, r]) => r)
  // A prefix move in progress (or being rolled back): its rollout keeps the bounds on both prefixes, so either may go empty.
  const moving = (app: string, c: CurrentRecord) => newer(app, c).some((r) => prefixOf(r) !== prefixOf(revisions.get(`${app}/${c.revision}`)))
  const here = [...current].filter(([app, c]) => prefixOf(revisions.get(`${app}/${c.revision}`)) === p || newer(app, c).some((r) => prefixOf(r) === p))
  return here.length > 0 && here.every(([app, c]) => (c.replicas === 0 && prefixOf(revisions.get(`${app}/${c.revision}`)) === p) || moving(app, c))
}
