import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { LOCAL_HOST, type Host } from '../hosts/fleet.js'
import { resolveHost } from '../hosts/resolve-host.js'
import { loadHostsFile } from '../spec/hosts-file.js'

/** What a single-host command was asked for: `--host NAME`, from `--hosts-file FILE`'s hosts: list. */
export interface HostChoice {
  host?: string
  hostsFile?: string
}

/**
 * The host a single-host command (launch, stop) acts on: undefined without --host (the local
 * engine, as before); "local" needs no file; any other name is looked up in the hosts file.
 * Bad input (exit 2) before anything is touched.
 */
export async function targetHost(ctx: Context, choice: HostChoice): Promise<Host | undefined> {
  if (choice.host === undefined) {
    if (choice.hostsFile) throw new ForrestError('BAD_INPUT', '--hosts-file names where hosts are described; --host names which one; nothing was changed', { suggestion: 'Add --host NAME, or drop --hosts-file.' })
    return undefined
  }
  if (!choice.hostsFile) {
    if (choice.host === LOCAL_HOST) return resolveHost(ctx, LOCAL_HOST, [], 'the local engine')
    throw new ForrestError('BAD_INPUT', `--host ${choice.host}: where is it? Pass --hosts-file FILE (a deployment file or an inventory with a hosts: list naming it); nothing was changed`, {
      suggestion: `forrest ... --host ${choice.host} --hosts-file deployments/myapp.yml`,
    })
  }
  return resolveHost(ctx, choice.host, await loadHostsFile(choice.hostsFile), choice.hostsFile)
}
