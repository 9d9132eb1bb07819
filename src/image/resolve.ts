import type { ImageInfo, RegistryAuth } from '../docker/runtime.js'
import { ForrestError } from '../errors.js'
import { isImageId, parseImageReference, pinnedReference, type ImageReference } from '../spec/image-reference.js'
import type { DeploymentSpec } from '../spec/types.js'
import { registryAuthFor } from './credentials.js'
import { prePull, type HostPullEvent, type HostRuntime, type PrePullReport, type PullPolicy } from './pre-pull.js'

/** The image a revision runs, resolved once at plan time and present on every target host. */
export interface ResolvedImage {
  /** What instances run: `name@sha256:...` for an image from a registry, else the image ID. */
  ref: string
  /** The registry's manifest digest; undefined for an image built or loaded on the hosts. */
  digest?: string
  imageId: string
  exposedPorts: number[]
  hasHealthcheck: boolean
  /** Which hosts pulled it now (empty when every host had it). */
  pulled: string[]
}

/** The image a command needs on its hosts. */
export type ImageNeed =
  /** deploy: the file's image, resolved to one digest now, pulled as `pull:` says. */
  | { image: string; pull: PullPolicy }
  /** scale, rollback: a recorded revision's own image (its digest, or its image ID). */
  | { revision: RevisionImage }

/** What a revision record says about its image. */
export interface RevisionImage {
  imageId: string
  digest?: string
  spec: Pick<DeploymentSpec, 'image'> & { pull?: PullPolicy }
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv
  onEvent?: (e: HostPullEvent) => void
  signal?: AbortSignal
}

/**
 * Resolves `image` to one digest and makes it present on every host (the first host's engine
 * asks the registry; its trust settings apply). Changes no container.
 *
 * - An image built or loaded on the hosts (its name names no registry, the first engine has it,
 *   and it was never pulled from or pushed to Docker Hub under that name: no RepoDigest for it)
 *   is used by image ID, as before registries; every host must have the same image. `pull:
 *   missing` does not ask Docker Hub about it.
 * - Otherwise, unless `pull: never`, the tag is resolved to a digest at the registry now, and
 *   every host gets exactly `name@digest`, pulled in parallel where missing (`always`: everywhere).
 * - `pull: never`: nothing is pulled or asked; every host must have the same image; the digest is
 *   the one the first engine recorded when it pulled or pushed it, if any.
 */
export async function resolveImage(image: string, policy: PullPolicy, hosts: HostRuntime[], opts: ResolveOptions = {}): Promise<ResolvedImage> {
  const first = hosts[0]
  if (!first) throw new ForrestError('INTERNAL', 'resolveImage needs at least one host')
  const ref = parseImageReference(image)
  const local = policy === 'always' && ref ? undefined : await first.runtime.findImage(image)
  if (!ref || policy === 'never' || (policy === 'missing' && local && !ref.namesRegistry && !ref.digest && !recordedDigest(local, ref))) {
    const info = await sameImageEverywhere(image, hosts, isImageId(image) ? 'an image ID is never pulled' : policy === 'never' ? 'the deployment file says pull: never' : 'it names no registry to pull it from')
    const digest = ref && (ref.digest ?? recordedDigest(info, ref))
    return { ref: ref && digest ? pinnedReference(ref, digest) : info.id, ...(digest ? { digest } : {}), ...describe(info), pulled: [] }
  }
  const auth = memo(() => registryAuthFor(ref.registry, opts.env ?? process.env))
  const digest = ref.digest ?? (await first.runtime.resolveDigest(image, await auth()))
  const pinned = pinnedReference(ref, digest)
  const report = await prePull(hosts, pinned, policy, auth, opts.onEvent, opts.signal)
  return done(pinned, digest, await first.runtime.inspectImage(pinned), report)
}

/**
 * A recorded revision's image on every host: by its digest, pulled where missing as its `pull:`
 * said (never by its tag, which may have moved since); or, for an image built or loaded on the
 * hosts or with `pull: never`, the same image ID everywhere.
 */
export async function revisionImageOn(hosts: HostRuntime[], rec: RevisionImage, opts: ResolveOptions = {}): Promise<ResolvedImage> {
  const policy = rec.spec.pull ?? 'missing'
  const ref = rec.digest ? parseImageReference(rec.spec.image) : undefined
  if (!ref || !rec.digest || policy === 'never') {
    const info = await sameImageEverywhere(rec.imageId, hosts, 'the revision\'s image is not pulled (it came from no registry, or pull: never)')
    return { ref: ref && rec.digest ? pinnedReference(ref, rec.digest) : rec.imageId, ...(rec.digest ? { digest: rec.digest } : {}), ...describe(info), pulled: [] }
  }
  const pinned = pinnedReference(ref, rec.digest)
  const report = await prePull(hosts, pinned, policy, memo(() => registryAuthFor(ref.registry, opts.env ?? process.env)), opts.onEvent, opts.signal)
  return done(pinned, rec.digest, await hosts[0]!.runtime.inspectImage(pinned), report)
}

/** Every host has `image` (as written, or an image ID), and it is the same image on all of them. */
async function sameImageEverywhere(image: string, hosts: HostRuntime[], whyNotPulled: string): Promise<ImageInfo> {
  const found = await Promise.all(hosts.map(async (h) => ({ host: h.name, info: await h.runtime.findImage(image) })))
  const missing = found.filter((f) => !f.info).map((f) => f.host)
  if (missing.length) {
    const where = hosts.length === 1 ? 'this Docker host' : missing.join(', ')
    throw new ForrestError('IMAGE_NOT_FOUND', `image "${image}" is not on ${where}, and ${whyNotPulled}`, {
      suggestion: 'Push it to a registry and name that registry in the image (registry.example.com/team/app:1), or build or load it on every host (scripts/dev-stack.sh builds the demo images).',
    })
  }
  const infos = found as Array<{ host: string; info: ImageInfo }>
  if (new Set(infos.map((i) => i.info.id)).size > 1) {
    throw new ForrestError('BAD_INPUT', `image "${image}" is not the same on every host (${infos.map((i) => `${i.host}: ${i.info.id.slice(7, 19)}`).join(', ')}); a revision must run the same bytes everywhere`, {
      suggestion: 'Push the image to a registry and name the registry in the image: forrest then pulls one digest everywhere.',
    })
  }
  return infos[0]!.info
}

const describe = (info: ImageInfo) => ({ imageId: info.id, exposedPorts: info.exposedPorts, hasHealthcheck: info.hasHealthcheck })

function done(ref: string, digest: string, info: ImageInfo, report: PrePullReport): ResolvedImage {
  return { ref, digest, ...describe(info), pulled: report.hosts.filter((h) => h.pulled).map((h) => h.host) }
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

function memo(fn: () => Promise<RegistryAuth | undefined>): () => Promise<RegistryAuth | undefined> {
  let p: Promise<RegistryAuth | undefined> | undefined
  return () => (p ??= fn())
}
