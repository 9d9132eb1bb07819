/**
 * A shared inventory: the fleet's hosts described once, in forrest.hosts.yml beside the
 * deployment files (or the file --inventory / FORREST_INVENTORY names), with the same fields as
 * an app's own `hosts:` list. An app uses it with `hosts: inventory`, and picks among its hosts
 * with `placement.labels`; an app with its own list never reads it. Pure (load.ts reads the file).
 */
import { z } from 'zod'
import { hostShape } from './schema.js'
import type { HostSpec } from './types.js'

export const INVENTORY_FILE = 'forrest.hosts.yml'
/** The value of an app's `hosts:` that means "the inventory's hosts". */
export const INVENTORY_HOSTS = 'inventory'

export interface Inventory {
  file: string
  hosts: HostSpec[]
}

export const inventorySchema = z
  .strictObject({
    hosts: z
      .array(z.strictObject(hostShape), { error: 'expected a list of hosts, each with name, docker and address' })
      .min(1, 'list at least one host')
      .describe('The fleet\'s Docker hosts, as in a deployment file\'s hosts: list.'),
  })
  .superRefine((inv, ctx) => {
    const seen = new Map<string, number>()
    inv.hosts.forEach((h, i) => {
      for (const [field, value] of [['name', h.name], ['docker', h.docker]] as const) {
        const first = seen.get(`${field}:${value}`)
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['hosts', i, field], message: `the same ${field} as hosts[${first}]; each host once` })
        else seen.set(`${field}:${value}`, i)
      }
    })
  })

/** Whether an app's file says `hosts: inventory` (read the inventory only then). */
export const mentionsInventory = (bytes: Uint8Array): boolean => /^hosts:[ \t]*(["']?)inventory\1[ \t]*(#.*)?\r?$/m.test(Buffer.from(bytes).toString('utf8'))

/**
 * The inventory's hosts an app uses: those carrying all its placement labels (all of them when
 * it has none). Only these are the app's hosts, so only these must answer a deploy and status
 * looks only at these; a host whose labels stop matching has left the app's list, and its
 * instances are retired like those of any host that leaves. None matching: every host, so the
 * schema's own placement check names the labels. Pure; `placement` is the file's, unvalidated.
 */
export function pickFromInventory(hosts: readonly HostSpec[], placement: unknown): HostSpec[] {
  const labels = (placement as { labels?: unknown } | undefined)?.labels
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return [...hosts]
  const wanted = Object.entries(labels)
  const picked = hosts.filter((h) => wanted.every(([k, v]) => (h.labels ?? {})[k] === v))
  return picked.length ? picked : [...hosts]
}
