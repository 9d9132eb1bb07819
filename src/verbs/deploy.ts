import { dirname, resolve } from 'node:path'
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import type { DeploymentSpec } from '../spec/types.js'
import type { ResolvedImage } from '../image/resolve.js'
import { prepareDeployImage, type ImageStepOptions } from '../engine/image.js'
import { choosePort } from '../engine/instance-ops.js'
import type { HostState } from '../hosts/fleet.js'
import { checkSecretPaths } from '../engine/secret-paths.js'
import { absoluteSecretPaths, resolveEnv, type ResolvedEnv } from '../engine/secrets.js'
import { detectedAddressNote, type AnnounceChoice } from '../engine/preflight.js'
import { rollout } from '../engine/rollout.js'
import { departedHosts } from '../engine/departed-hosts.js'
import { checkHostSettings } from '../engine/settings-preflight.js'
import { deployHooks } from './deploy-hooks.js'
import type { ResolvedSpec, RolloutOptions, RolloutResult } from '../engine/types.js'

/**
 * Fills in what the file leaves to the environment (announce prefix/address) and the image
 * (port), checking etcd, the hosts and the image before anything is touched. The image tag is
 * resolved to its digest here, once, and pulled onto the target hosts (see prepareDeployImage).
 */
export async function resolveSpec(ctx: Context, spec: DeploymentSpec, file: string, opts: ImageStepOptions = { renderer: 'silent' }): Promise<{ spec: ResolvedSpec; imageId: string; digest?: string; env: ResolvedEnv; hosts: HostState[]; image: ResolvedImage }> {
  // Secrets first: one that cannot be read fails before etcd or Docker is even asked.
  checkSecretPaths(spec, file, process.env)
  const withPaths = absoluteSecretPaths(spec, dirname(resolve(file)))
  const env = resolveEnv(withPaths, process.env)
  await ctx.identity() // etcd answers, and as whom; a TLS problem is named
  // Each host answers and has the image, one digest everywhere: before anything is touched.
  const { hosts, image } = await prepareDeployImage(ctx, spec, opts)
  await checkHostSettings(spec, image.ref, hosts, file)
  const port = choosePort(spec.image, spec.port, image.exposedPorts)
  if (spec.health.type === 'docker' && !image.hasHealthcheck) {
    throw new ForrestError('INVALID_SPEC', `${file}: health.type: docker, but image "${spec.image}" has no HEALTHCHECK`, {
      suggestion: 'Use health.type: http with a path, or add a HEALTHCHECK to the image.',
    })
  }
  for (const [name, p] of Object.entries(spec.processes ?? {})) {
    if (p.health.type === 'docker' && !image.hasHealthcheck) {
      throw new ForrestError('INVALID_SPEC', `${file}: processes.${name}.health.type: docker, but image "${spec.image}" has no HEALTHCHECK`, {
        suggestion: `Use health.running: 10s for ${name} (healthy once it has run that long), or add a HEALTHCHECK to the image.`,
      })
    }
  }
  return {
    // With hosts, each host has its own address; the spec's stays empty (it defines no revision).
    spec: { ...withPaths, port, announce: { prefix: spec.announce.prefix ?? ctx.config.prefix, address: spec.hosts ? '' : (spec.announce.address ?? ctx.config.ip) } },
    imageId: image.imageId,
    ...(image.digest ? { digest: image.digest } : {}),
    env,
    hosts,
    image,
  }
}

export async function deploy(ctx: Context, spec: DeploymentSpec, file: string, opts: RolloutOptions & { forgetHosts?: string[] }): Promise<RolloutResult> {
  const { image, ...resolved } = await resolveSpec(ctx, spec, file, opts)
  // Hosts that left the file's list but still run instances of the app: observed, and retired within the bounds.
  resolved.hosts = [...resolved.hosts, ...(await departedHosts(ctx, spec, opts.forgetHosts ?? [], resolved.hosts))]
  // What the file (or the operator) chose, as against what forrest filled in by default or detected.
  const announceChoice: AnnounceChoice = {
    prefix: spec.announce.prefix !== undefined || ctx.config.prefixSource !== 'default',
    address: spec.hosts !== undefined || spec.announce.address !== undefined || ctx.config.ipSource !== 'detected',
  }
  const notes = announceChoice.address ? [] : [detectedAddressNote(resolved.spec.announce.address)]
  const req = { kind: 'deploy' as const, ...resolved, replicas: spec.replicas, announceChoice, notes, ...opts }
  const withImage = (r: RolloutResult): RolloutResult => ({ ...r, image: { ref: image.ref, ...(image.digest ? { digest: image.digest } : {}), imageId: image.imageId, pulled: image.pulled } })
  if (opts.dryRun) return withImage(await rollout(ctx, req))
  const hooks = deployHooks(spec, file, { image: spec.image, imageId: image.imageId, digest: image.digest, actor: opts.actor })
  await hooks.pre()
  let result: RolloutResult
  try {
    result = withImage(await rollout(ctx, req))
  } catch (err) {
    // A rollout held after its canary is not a failure: no hook runs until promote or abort.
    if (!(err instanceof ForrestError && err.code === 'WAITING_FOR_PROMOTION')) await hooks.failed(err)
    throw err
  }
  await hooks.post(result)
  return result
}
