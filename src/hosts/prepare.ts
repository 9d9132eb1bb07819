import type { Context } from '../context.js'
import type { ImageInfo } from '../docker/runtime.js'
import { ForrestError, toForrestError } from '../errors.js'
import type { DeploymentSpec } from '../spec/types.js'
import { eligible, hostsOf, hostsUnreachable, reachHosts, type HostState } from './fleet.js'

/**
 * Before anything changes: reach every host of the app at once, and check the image is on each
 * one that may run it, as the same image. A host that does not answer fails the command (exit 7,
 * naming it) unless the user allows rolling on the others.
 */
export async function prepareHosts(
  ctx: Context,
  spec: Pick<DeploymentSpec, 'name' | 'hosts' | 'announce' | 'placement'>,
  image: string | undefined,
  opts: { allowUnreachableHosts?: boolean } = {},
): Promise<{ hosts: HostState[]; image: ImageInfo }> {
  const hosts = await reachHosts(hostsOf(ctx, spec))
  const down = hosts.filter((h) => h.error)
  if (down.length === hosts.length || (down.length > 0 && !opts.allowUnreachableHosts)) throw hostsUnreachable(down, `cannot reach every Docker host of ${spec.name}; nothing was changed`)
  const targets = eligible(hosts.filter((h) => h.engine !== undefined).map((h) => h.host), spec)
  if (image === undefined) return { hosts, image: { id: '', exposedPorts: [], hasHealthcheck: false, repoDigests: [] } } // nothing will start
  const found = await Promise.all(targets.map(async (h) => ({ host: h.name, r: await h.runtime.inspectImage(image).then((info) => ({ info }), (err: unknown) => ({ err: toForrestError(err) })) })))
  const missing = found.filter((f) => 'err' in f.r)
  if (missing.length > 0) {
    const first = (missing[0]!.r as { err: ForrestError }).err
    if (missing.length === found.length && hosts.length === 1) throw first // one host: its own message, as before hosts existed
    throw new ForrestError(first.code, `image "${image}" cannot be used on ${missing.map((m) => `${m.host} (${(m.r as { err: ForrestError }).err.message})`).join('; ')}; nothing was changed`, {
      suggestion: 'Load or pull the image on every host (a registry and a digest make them the same image everywhere).',
    })
  }
  const infos = found.map((f) => ({ host: f.host, info: (f.r as { info: ImageInfo }).info }))
  const ids = new Set(infos.map((i) => i.info.id))
  if (ids.size > 1) {
    throw new ForrestError('BAD_INPUT', `image "${image}" is not the same on every host (${infos.map((i) => `${i.host}: ${i.info.id.slice(7, 19)}`).join(', ')}); a revision must run the same bytes everywhere`, {
      suggestion: 'Push the image to a registry and pull it on every host (same digest, same image id), then deploy again.',
    })
  }
  return { hosts, image: infos[0]!.info }
}
