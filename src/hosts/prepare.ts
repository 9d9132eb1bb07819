import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import type { HostPullEvent } from '../image/pre-pull.js'
import { resolveImage, revisionImageOn, type ImageNeed, type ResolvedImage } from '../image/resolve.js'
import type { DeploymentSpec } from '../spec/types.js'
import { eligible, hostsOf, hostsUnreachable, reachHosts, type HostState } from './fleet.js'

export interface PrepareOptions {
  allowUnreachableHosts?: boolean
  /** Pull progress per host (the verbs show it as the rollout is shown). */
  onEvent?: (e: HostPullEvent) => void
  signal?: AbortSignal
}

/**
 * Before anything changes: reach every host of the app at once, then make the image the command
 * needs present on each one that may run it, as the same bytes: a tag from a registry resolved to
 * one digest and pulled in parallel where missing (see resolveImage), a recorded revision by its
 * digest, an image built or loaded on the hosts checked to be the same image everywhere. A host
 * that does not answer fails the command (exit 7, naming it) unless the user allows rolling on the
 * others; a pull that fails on any host fails it naming every such host. Nothing is changed either way.
 */
export async function prepareHosts(
  ctx: Context,
  spec: Pick<DeploymentSpec, 'name' | 'hosts' | 'announce' | 'placement'>,
  need: ImageNeed | undefined,
  opts: PrepareOptions = {},
): Promise<{ hosts: HostState[]; image?: ResolvedImage }> {
  const hosts = await reachHosts(hostsOf(ctx, spec))
  const down = hosts.filter((h) => h.error)
  if (down.length === hosts.length || (down.length > 0 && !opts.allowUnreachableHosts)) throw hostsUnreachable(down, `cannot reach every Docker host of ${spec.name}; nothing was changed`, hosts.length)
  if (need === undefined) return { hosts } // nothing will start
  const targets = eligible(hosts.filter((h) => h.engine !== undefined).map((h) => h.host), spec).map((h) => ({ name: h.name, runtime: h.runtime }))
  if (targets.length === 0) {
    throw new ForrestError('BAD_INPUT', `no reachable host of ${spec.name} matches placement.labels; nothing was changed`, {
      suggestion: 'Check placement.labels against the hosts\' labels.',
    })
  }
  const image = 'image' in need ? await resolveImage(need.image, need.pull, targets, opts) : await revisionImageOn(targets, need.revision, opts)
  return { hosts, image }
}
