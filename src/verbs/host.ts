import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { LOCAL_HOST } from '../hosts/fleet.js'
import { recordsOf } from '../engine/app-records.js'
import { hostAvailabilities } from '../engine/host-placement.js'
import type { HostAvailability, HostAvailabilityRecord } from '../registry/host-availability.js'

/** One host as `forrest host ls` shows it: its availability and how many instances of each app its records place there. */
export interface HostRow {
  name: string
  availability: 'active' | HostAvailability
  since?: string
  by?: string
  /** App → instances recorded on this host. */
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
    if (!r) rows.set(name, (r = { name, availability: 'active', instances: {}, apps: [] }))
    return r
  }
  await Promise.all(
    apps.map(async (app) => {
      const [current, instances] = await Promise.all([records.current(app), records.instances(app)])
      const spec = current ? (await records.revision(app, current.revision))?.spec : undefined
      for (const h of spec?.hosts?.map((x) => x.name) ?? (spec ? [LOCAL_HOST] : [])) row(h).apps.push(app)
      for (const rec of instances.values()) row(rec.host).instances[app] = (row(rec.host).instances[app] ?? 0) + 1
    }),
  )
  for (const [name, rec] of availability) Object.assign(row(name), { availability: rec.availability, since: rec.at, by: rec.by })
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
  if (row.availability === 'active') await hostAvailabilities(ctx).set(name, rec)
  // Already cordoned, draining or drained: each of those already keeps new instances off it.
  return { host: name, from: row.availability, to: row.availability === 'active' ? 'cordoned' : row.availability }
}

/** `forrest host uncordon NAME`: active again; the next deploy (or scale) of each app places there as it places anywhere. */
export async function uncordonHost(ctx: Context, name: string): Promise<HostChange> {
  const row = await knownHost(ctx, name)
  if (row.availability !== 'active') await hostAvailabilities(ctx).clear(name)
  return { host: name, from: row.availability, to: 'active' }
}
