import type { Context } from '../context.js'
import { hostAvailabilities } from '../engine/host-placement.js'
import type { HostAvailability } from '../registry/host-availability.js'
import type { InstanceRecord } from '../registry/records.js'

/** A host that is not active, as `forrest status` shows it (forrest host cordon / drain). */
export interface HostMark {
  name: string
  availability: HostAvailability
  since: string
  by: string
}

/** Every cordoned, draining or drained host (not one app's: shown with every status). */
export async function collectHostMarks(ctx: Context): Promise<{ hosts?: HostMark[] }> {
  const marks = [...(await hostAvailabilities(ctx).list())].map(([name, r]) => ({ name, availability: r.availability, since: r.at, by: r.by }))
  return marks.length ? { hosts: marks.sort((a, b) => a.name.localeCompare(b.name)) } : {}
}

/** A host that left an app's hosts list while its records still place instances there. */
export interface DepartedHost {
  host: string
  instances: string[]
}

/** The app's instance records on hosts not in `listed` (its current revision's hosts), by host. Pure. */
export function departedOf(listed: readonly string[], records: Iterable<InstanceRecord>): DepartedHost[] {
  const by = new Map<string, string[]>()
  for (const r of records) if (!listed.includes(r.host)) by.set(r.host, [...(by.get(r.host) ?? []), r.name])
  return [...by].sort(([a], [b]) => a.localeCompare(b)).map(([host, instances]) => ({ host, instances: instances.sort() }))
}

export const departedDrift = (app: string, d: DepartedHost) => ({
  kind: 'host-left' as const,
  message: `host ${d.host} is no longer in ${app}'s hosts list, but ${d.instances.length === 1 ? 'its instance' : `${d.instances.length} of its instances`} ${d.instances.join(', ')} ${d.instances.length === 1 ? 'is' : 'are'} recorded there: the next forrest deploy of ${app} retires ${d.instances.length === 1 ? 'it' : 'them'} within the bounds (if ${d.host} does not answer, deploy with --forget-host ${d.host})`,
})
