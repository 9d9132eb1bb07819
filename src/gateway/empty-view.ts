import type { Etcd3 } from 'etcd3'
import { normalizePrefix } from '../config.js'
import type { CurrentRecord, RevisionRecord } from '../registry/records.js'

/**
 * Whether an empty prefix is real: some app forrest has records of is announced under `prefix`
 * and every such app's current replica count is 0. Otherwise (a wrong --prefix, an etcd restored
 * from an old backup, records of another root) the gateway keeps its servers. Reads forrest's
 * records once; only asked when the view is empty while HAProxy still has servers.
 */
export async function emptyViewConfirmed(client: Etcd3, prefix: string, root = 'forrest'): Promise<boolean> {
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
  const here = [...current].filter(([app, c]) => normalizePrefix(revisions.get(`${app}/${c.revision}`)?.spec.announce.prefix ?? '') === normalizePrefix(prefix))
  return here.length > 0 && here.every(([, c]) => c.replicas === 0)
}
