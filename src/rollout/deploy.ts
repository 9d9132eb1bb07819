import { dirname, resolve } from 'node:path'
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import type { DeploymentSpec } from '../spec/types.js'
import { choosePort } from './instance-ops.js'
import { absoluteSecretPaths, resolveEnv, type ResolvedEnv } from './secrets.js'
import { rollout, type ResolvedSpec, type RolloutOptions, type RolloutResult } from './rollout.js'

/**
 * Fills in what the file leaves to the environment (announce prefix/address) and the image
 * (port), checking etcd and the image before anything is touched.
 */
export async function resolveSpec(ctx: Context, spec: DeploymentSpec, file: string): Promise<{ spec: ResolvedSpec; imageId: string; env: ResolvedEnv }> {
  // Secrets first: one that cannot be read fails before etcd or Docker is even asked.
  const withPaths = absoluteSecretPaths(spec, dirname(resolve(file)))
  const env = resolveEnv(withPaths, process.env)
  await ctx.identity() // etcd (and Docker) answer, and as whom; a TLS problem is named
  const image = await ctx.runtime.inspectImage(spec.image)
  const port = choosePort(spec.image, spec.port, image.exposedPorts)
  if (spec.health.type === 'docker' && !image.hasHealthcheck) {
    throw new ForrestError('INVALID_SPEC', `${file}: health.type: docker, but image "${spec.image}" has no HEALTHCHECK`, {
      suggestion: 'Use health.type: http with a path, or add a HEALTHCHECK to the image.',
    })
  }
  return {
    spec: { ...withPaths, port, announce: { prefix: spec.announce.prefix ?? ctx.config.prefix, address: spec.announce.address ?? ctx.config.ip } },
    imageId: image.id,
    env,
  }
}

export async function deploy(ctx: Context, spec: DeploymentSpec, file: string, opts: RolloutOptions): Promise<RolloutResult> {
  const resolved = await resolveSpec(ctx, spec, file)
  return rollout(ctx, { kind: 'deploy', ...resolved, replicas: spec.replicas, ...opts })
}
