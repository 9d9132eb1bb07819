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
