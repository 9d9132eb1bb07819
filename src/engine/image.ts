import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { eligible, hostsOf, type HostState } from '../hosts/fleet.js'
import { prepareHosts } from '../hosts/prepare.js'
import { PrePullFailed } from '../image/pre-pull.js'
import type { ImageNeed, ResolvedImage, RevisionImage } from '../image/resolve.js'
import type { RevisionRecord } from '../registry/records.js'
import type { DeploymentSpec } from '../spec/types.js'
import { withPullView } from '../report/pull-view.js'
import type { RendererName } from '../report/renderer.js'
import { checkHostSettings } from './settings-preflight.js'
import { revisionImage } from './templates.js'
import type { ResolvedSpec } from './types.js'

export interface ImageStepOptions {
  renderer: RendererName
  signal?: AbortSignal
  allowUnreachableHosts?: boolean
}

type AppSpec = Pick<DeploymentSpec, 'name' | 'hosts' | 'announce' | 'placement'>

/** prepareHosts with the pull progress shown per host, as the rollout is shown. */
function prepareWithView(ctx: Context, spec: AppSpec, need: ImageNeed, title: string, opts: ImageStepOptions) {
  const names = eligible(hostsOf(ctx, spec), spec).map((h) => h.name)
  return withPullView(opts.renderer, title, names, (onEvent) => prepareHosts(ctx, spec, need, { ...opts, onEvent }))
}

/**
 * deploy, at plan time: every host reached, the file's image resolved to one digest and present
 * on every host that may run it, before the first container changes. A failure anywhere changes
 * nothing, and says so.
 */
export async function prepareDeployImage(ctx: Context, spec: DeploymentSpec, opts: ImageStepOptions): Promise<{ hosts: HostState[]; image: ResolvedImage }> {
  try {
    const { hosts, image } = await prepareWithView(ctx, spec, { image: spec.image, pull: spec.pull }, `image ${spec.image}`, opts)
    return { hosts, image: image! }
  } catch (err) {
    // A pre-pull failure and an unreachable host say so themselves; a failed lookup of the tag happened before them.
    if (!(err instanceof ForrestError) || err instanceof PrePullFailed || /nothing was changed/.test(err.message)) throw err
    throw new ForrestError(err.code, `${err.message}; nothing was changed`, { cause: err, suggestion: err.suggestion, detail: err.detail })
  }
}

/**
 * How a revision's image is named to people: the tag the file gave, then the short digest (or
 * image ID, for an image built on the host) it was pinned to. Pure.
 */
export function describeRevisionImage(rec: { revision: number; imageId: string; digest?: string; spec: { image: string } }): string {
  const pinned = (rec.digest ?? rec.imageId).replace(/^(sha256:[a-f0-9]{12})[a-f0-9]*$/, '$1')
  return `${rec.spec.image} (${pinned}, revision ${rec.revision})`
}

/**
 * scale and rollback: the revision's hosts reached and, when it will start instances, its own
 * image present on each: pulled by its recorded digest where missing (never by its tag, which may
 * have moved), or, built or loaded on the hosts, still there as the same image.
 */
export async function prepareRevisionImage(ctx: Context, app: string, rec: Pick<RevisionRecord, 'revision' | 'imageId' | 'digest'> & { spec: ResolvedSpec }, starts: boolean, opts: ImageStepOptions): Promise<HostState[]> {
  const revision: RevisionImage = rec
  if (!starts) return (await prepareHosts(ctx, rec.spec, undefined, opts)).hosts
  try {
    const { hosts } = await prepareWithView(ctx, rec.spec, { revision }, `image ${describeRevisionImage(rec)}`, opts)
    // Networks and bind paths the revision's settings need (scale up, rollback): before anything changes.
    await checkHostSettings(rec.spec, revisionImage(rec), hosts, `revision ${rec.revision} of ${app}`)
    return hosts
  } catch (err) {
    if (!(err instanceof ForrestError) || !['IMAGE_NOT_FOUND', 'REGISTRY_AUTH_FAILED', 'REGISTRY_UNREACHABLE', 'REGISTRY_TLS'].includes(err.code)) throw err
    const image = rec.spec.image
    const what = rec.digest ? `${image} at ${rec.digest}` : `${image} (${rec.imageId})`
    throw new ForrestError(err.code, `revision ${rec.revision} of ${app} runs image ${what}, which ${rec.digest ? 'could not be made present on every host' : 'is no longer on every Docker host'}: ${err.message}${/nothing was changed/.test(err.message) ? '' : '; nothing was changed'}`, {
      cause: err,
      detail: err.detail,
      suggestion: rec.digest
        ? err.suggestion
        : `Load the image again (docker pull/load ${image}, if the tag still points at ${rec.imageId.slice(7, 19)}), or pick another revision: forrest history ${app}.`,
    })
  }
}
