import type { ImageInfo, RegistryAuth } from '../docker/runtime.js'
import { ForrestError } from '../errors.js'
import { isImageId, parseImageReference, pinnedReference, type ImageReference } from '../spec/image-reference.js'
import { registryAuthFor } from './credentials.js'
import { prePull, type HostPullEvent, type HostRuntime, type PrePullReport, type PullPolicy } from './pre-pull.js'

/** The image a revision runs, resolved once at plan time and present on every target host. */
export interface ResolvedImage {
  /** What instances run: `name@sha256:...` for an image from a registry, else the image ID. */
  ref: string
  /** The registry's manifest digest; undefined for an image built or loaded on the host. */
  digest?: string
  imageId: string
  exposedPorts: number[]
  hasHealthcheck: boolean
  /** Which hosts pulled it now (empty when every host had it). */
  pulled: string[]
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv
  onEvent?: (e: HostPullEvent) => void
  signal?: AbortSignal
}

/**
 * Resolves `image` to one digest and makes it present on every host (the first host's engine
 * asks the registry; its trust settings apply). Pure of any container or etcd change.
 *
 * - An image built or loaded here (its name names no registry, the first engine has it, and it
 *   was never pulled from or pushed to Docker Hub under that name: no RepoDigest for it) is used
 *   by image ID, as before registries: `pull: missing` does not ask Docker Hub about it.
 * - Otherwise, unless `pull: never`, the tag is resolved to a digest at the registry now, and
 *   every host gets exactly `name@digest`, pulled where missing (`always`: pulled everywhere).
 * - `pull: never`: nothing is pulled or asked; every host must have the image; the digest is
 *   the one the first engine recorded when it pulled or pushed it, if any.
 */
export async function resolveImage(image: string, policy: PullPolicy, hosts: HostRuntime[], opts: ResolveOptions = {}): Promise<ResolvedImage> {
  const first = hosts[0]
  if (!first) throw new ForrestError('INTERNAL', 'resolveImage needs at least one host')
  const ref = parseImageReference(image)
  const local = policy === 'always' && ref ? undefined : await first.runtime.findImage(image)
  if (!ref || policy === 'never' || (policy === 'missing' && local && !ref.namesRegistry && !ref.digest && !recordedDigest(local, ref))) {
    if (!local) throw notHere(image, policy, first.name)
    const digest = ref && (ref.digest ?? recordedDigest(local, ref))
    const run = ref && digest ? pinnedReference(ref, digest) : local.id
    // Every other host must have the same image already (it is not pulled).
    const report = await prePull(hosts, run, 'never', undefined, opts.onEvent, opts.signal)
    return done(run, digest, local, report)
  }
  const auth = memo(() => registryAuthFor(ref.registry, opts.env ?? process.env))
  const digest = ref.digest ?? (await first.runtime.resolveDigest(image, await auth()))
  const pinned = pinnedReference(ref, digest)
  const report = await prePull(hosts, pinned, policy, auth, opts.onEvent, opts.signal)
  return done(pinned, digest, await first.runtime.inspectImage(pinned), report)
}

function done(ref: string, digest: string | undefined, info: ImageInfo, report: PrePullReport): ResolvedImage {
  return {
    ref,
    ...(digest ? { digest } : {}),
    imageId: info.id,
    exposedPorts: info.exposedPorts,
    hasHealthcheck: info.hasHealthcheck,
    pulled: report.hosts.filter((h) => h.pulled).map((h) => h.host),
  }
}

/** The digest the engine recorded for this repository when it pulled or pushed the image. */
function recordedDigest(info: ImageInfo, ref: ImageReference): string | undefined {
  for (const rd of info.repoDigests) {
    const at = rd.indexOf('@')
    const r = parseImageReference(rd.slice(0, at))
    if (r && r.registry === ref.registry && r.repository === ref.repository) return rd.slice(at + 1)
  }
  return undefined
}

function notHere(image: string, policy: PullPolicy, host: string): ForrestError {
  const why = isImageId(image) ? 'an image ID is never pulled' : policy === 'never' ? 'the deployment file says pull: never' : 'it names no registry'
  return new ForrestError('IMAGE_NOT_FOUND', `image "${image}" is not on ${host}, and ${why}`, {
    suggestion: policy === 'never'
      ? 'Load the image on every host, or set pull: missing.'
      : 'Push it to a registry and name that registry in the image (registry.example.com/team/app:1), or build or load it on the host (scripts/dev-stack.sh builds the demo images).',
  })
}

function memo(fn: () => Promise<RegistryAuth | undefined>): () => Promise<RegistryAuth | undefined> {
  let p: Promise<RegistryAuth | undefined> | undefined
  return () => (p ??= fn())
}
