import { access, constants } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ForrestError } from '../errors.js'
import type { EtcdClient } from '../registry/client.js'
import { checkGatewayPermissions } from '../registry/gateway-permissions.js'
import { HaproxyRuntime } from './haproxy-runtime.js'
import { checkServersFile } from './servers-file.js'

/**
 * `forrest gateway --check`: what the gateway needs before it starts, checked in the order it
 * needs them, stopping at the first problem with its typed error (GATEWAY_UNREACHABLE for the
 * socket, BAD_INPUT for a missing backend or a servers file without the marker block, the etcd
 * errors for etcd). Touches nothing: HAProxy is only read, etcd only read (see
 * checkGatewayPermissions for the write check).
 */
export async function preflight(x: {
  client: EtcdClient
  socketPath: string
  backend: string
  prefix: string
  recordsRoot?: string
  serversFile?: string
  etcdHosts: string[]
  id?: string
  runtime?: HaproxyRuntime
}): Promise<{ checked: string[] }> {
  const runtime = x.runtime ?? new HaproxyRuntime(x.socketPath)
  const checked: string[] = []
  const info = await runtime.info()
  checked.push(`HAProxy admin socket ${x.socketPath} answers (worker pid ${info.pid})`)
  const servers = await runtime.servers(x.backend)
  checked.push(`HAProxy backend ${x.backend} exists (${servers.length} server${servers.length === 1 ? '' : 's'})`)
  if (x.serversFile) {
    await checkServersFile(x.serversFile)
    // The gateway writes a temp file beside it and renames it over: both need the folder.
    const dir = dirname(x.serversFile)
    await access(dir, constants.W_OK).catch((err: Error) => {
      throw new ForrestError('BAD_INPUT', `--servers-file ${x.serversFile}: the gateway cannot write in ${dir}: ${err.message}`, {
        suggestion: `Give the gateway's user write access to ${dir} (it replaces the file by a rename), or run without --servers-file.`,
      })
    })
    checked.push(`servers file ${x.serversFile} has the forrest:servers block and is writable`)
  }
  checked.push(...(await checkGatewayPermissions(x.client, { hosts: x.etcdHosts, prefix: x.prefix, root: x.recordsRoot, id: x.id ?? 'gateway-check' })))
  return { checked }
}
