import type { Context } from '../context.js'
import { hostAvailabilities } from '../engine/host-placement.js'
import type { HostAvailability } from '../registry/host-availability.js'

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
