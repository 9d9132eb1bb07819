import { existsSync } from 'node:fs'
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { LOCAL_HOST, type Host } from '../hosts/fleet.js'
import { resolveHost } from '../hosts/resolve-host.js'
import { loadHostsFile } from '../spec/hosts-file.js'

/** The shared inventory's file, as the deploy reads it: $FORREST_INVENTORY, else forrest.hosts.yml here. */
const INVENTORY_ENV = 'FORREST_INVENTORY'
const INVENTORY_FILE = 'forrest.hosts.yml'

/** What a single-host command was asked for: `--host NAME`, from `--hosts-file FILE`'s hosts: list. */
export interface HostChoice {
  host?: string
  hostsFile?: string
}

/**
 * The host a single-host command (launch, stop) acts on: undefined without --host (the local
 * engine, as before); any other name is looked up in --hosts-file, else the shared inventory
 * ($FORREST_INVENTORY, else ./forrest.hosts.yml); "local" needs neither.
 * Bad input (exit 2) before anything is touched.
 */
export async function targetHost(ctx: Context, choice: HostChoice, env: NodeJS.ProcessEnv = process.env): Promise<Host | undefined> {
  if (choice.host === undefined) {
    if (choice.hostsFile) throw new ForrestError('BAD_INPUT', '--hosts-file names where hosts are described; --host names which one; nothing was changed', { suggestion: 'Add --host NAME, or drop --hosts-file.' })
    return undefined
  }
  const file = choice.hostsFile ?? inventoryFile(env)
  if (!file) {
    if (choice.host === LOCAL_HOST) return resolveHost(ctx, LOCAL_HOST, [], 'the local engine')
    throw new ForrestError('BAD_INPUT', `--host ${choice.host}: where is it? Pass --hosts-file FILE (a deployment file or an inventory with a hosts: list naming it), or set ${INVENTORY_ENV}; nothing was changed`, {
      suggestion: `Add --hosts-file deployments/myapp.yml (or ${INVENTORY_FILE}) to the command.`,
    })
  }
  return resolveHost(ctx, choice.host, await loadHostsFile(file), file)
}

function inventoryFile(env: NodeJS.ProcessEnv): string | undefined {
  if (env[INVENTORY_ENV]) return env[INVENTORY_ENV]
  return existsSync(INVENTORY_FILE) ? INVENTORY_FILE : undefined
}
