/**
 * The `hosts:` list of a YAML file, for commands that act on one named host (`forrest launch
 * --host`, `forrest stop --host`): a deployment file, or any file whose `hosts:` is written the
 * same way (a shared inventory). Only `hosts:` is read and validated (as in a deployment file);
 * every other key is left to whoever owns it.
 */
import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'
import { z } from 'zod'
import { ForrestError } from '../errors.js'
import { hostShape } from './schema.js'
import type { HostSpec } from './types.js'

const hostsSchema = z.array(z.strictObject(hostShape)).min(1)

export async function loadHostsFile(file: string): Promise<HostSpec[]> {
  let data: unknown
  try {
    data = parse(await readFile(file, 'utf8'))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ForrestError('BAD_INPUT', `cannot read hosts from ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}; nothing was changed`, {
      cause: err,
      suggestion: 'Pass a deployment file (or an inventory) with a hosts: list.',
    })
  }
  const hosts = data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>).hosts : undefined
  const parsed = hostsSchema.safeParse(hosts)
  if (!parsed.success) {
    const why = hosts === undefined ? 'it has no hosts: list' : hosts === 'inventory' ? 'its hosts come from the shared inventory (hosts: inventory)' : parsed.error.issues.map((i) => `hosts.${i.path.join('.')}: ${i.message}`).join('; ')
    throw new ForrestError('BAD_INPUT', `cannot read hosts from ${file}: ${why}; nothing was changed`, {
      suggestion: hosts === 'inventory' ? 'Pass the inventory itself (forrest.hosts.yml, or the file FORREST_INVENTORY names) as --hosts-file.' : 'List the hosts as in a deployment file: hosts: [{name: h2, docker: tcp://10.0.0.12:2376, address: 10.0.0.12}].',
    })
  }
  return parsed.data as HostSpec[]
}
