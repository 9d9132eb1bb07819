import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { LOCAL_HOST } from '../hosts/fleet.js'
import { recordsOf } from '../engine/app-records.js'
import { hostAvailabilities } from '../engine/host-placement.js'
import type { HostAvailability, HostAvailabilityRecord } from '../registry/host-availability.js'
import type { DeploymentSpec } from '../spec/types.js'
import { total, workersOnHosts } from './host-workers.js'

/** One host as `forrest host ls` shows it: its availability and how many instances of each app run there (web's by its records, workers' by their containers). */
export interface HostRow {
  name: string
  availability: 'active' | HostAvailability
  /** Active: deploys may place instances there (what a CI job tests before or after maintenance). */
  inService: boolean
  since?: string
  by?: string
  /** App → its instances on this host: web's by its records, workers' by their containers (host-workers.ts). */
  instances: Record<string, number>
  /** Apps whose current revision lists this host. */
  apps: string[]
}

export interface HostList {
  hosts: HostRow[]
}

/**
 * Every host forrest knows of: those in any app's current revision (its hosts list, or the local
 * engine), those its instance records name, and those with an availability record. Reads only.
 */
export async function listHosts(ctx: Context): Promise<HostList> {
  const records = recordsOf(ctx)
  const [apps, availability] = await Promise.all([records.apps(), hostAvailabilities(ctx).list()])
  const rows = new Map<string, HostRow>()
  const row = (name: string) => {
    let r = rows.get(name)
    if (!r) rows.set(name, (r = { name, availability: 'active', inService: true, instances: {}, apps: [] }))
    return r
  }
  const specs = new Map<string, DeploymentSpec>()
  await Promise.all(
    apps.map(async (app) => {
      const [current, instances] = await Promise.all([records.current(app), records.instances(app)])
      const spec = current ? (await records.revision(app, current.revision))?.spec : undefined
      if (spec) specs.set(app, spec)
      for (const h of spec?.hosts?.map((x) => x.name) ?? (spec ? [LOCAL_HOST] : [])) row(h).apps.push(app)
      for (const rec of instances.values()) row(rec.host).instances[app] = (row(rec.host).instances[app] ?? 0) + 1
    }),
  )
  // Workers have no instance records: their containers on each host are counted too.
  if ([...specs.values()].some((s) => s.processes)) {
    for (const [host, apps] of (await workersOnHosts(ctx, specs)).hosts) for (const [app, counts] of apps) row(host).instances[app] = (row(host).instances[app] ?? 0) + total(counts)
  }
  for (const [name, rec] of availability) Object.assign(row(name), { availability: rec.availability, inService: false, since: rec.at, by: rec.by })
  const hosts = [...rows.values()].sort((a, b) => a.name.localeCompare(b.name))
  for (const h of hosts) h.apps.sort()
  return { hosts }
}

/** The host's row, or BAD_INPUT (exit 2) naming the hosts forrest knows: nothing is changed. */
export async function knownHost(ctx: Context, name: string): Promise<HostRow> {
  const { hosts } = await listHosts(ctx)
  const found = hosts.find((h) => h.name === name)
  if (found) return found
  throw new ForrestError('BAD_INPUT', `no host named "${name}" in any app's hosts list or records; nothing was changed`, {
    suggestion: hosts.length ? `Known hosts: ${hosts.map((h) => h.name).join(', ')} (forrest host ls).` : 'No app has been deployed yet: forrest deploy FILE.',
  })
}

export interface HostChange {
  host: string
  from: HostRow['availability']
  to: HostRow['availability']
}

/** `forrest host cordon NAME`: no app places a new instance there; what runs there stays. */
export async function cordonHost(ctx: Context, name: string, actor: string): Promise<HostChange> {
  const row = await knownHost(ctx, name)
  const rec: HostAvailabilityRecord = { availability: 'cordoned', at: new Date().toISOString(), by: actor }
  // Only over no record (compare on its key): a drain or cordon started meanwhile is not overwritten.
  const marks = hostAvailabilities(ctx)
  if (row.availability === 'active' && (await marks.setIf(name, rec, 0)) !== undefined) return { host: name, from: 'active', to: 'cordoned' }
  // Already cordoned, draining or drained: each of those already keeps new instances off it.
  const now = row.availability === 'active' ? ((await marks.read(name)).rec?.availability ?? 'active') : row.availability
  return { host: name, from: now, to: now }
}

/** `forrest host uncordon NAME`: active again; the next deploy (or scale) of each app places there as it places anywhere. */
export async function uncordonHost(ctx: Context, name: string): Promise<HostChange> {
  const row = await knownHost(ctx, name)
  if (row.availability !== 'active') await hostAvailabilities(ctx).clear(name)
  return { host: name, from: row.availability, to: 'active' }
}
