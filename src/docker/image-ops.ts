import createDebug from 'debug'
import type Docker from 'dockerode'
import { ForrestError } from '../errors.js'
import { DOCKER_HUB, parseImageReference } from '../spec/image-reference.js'
import { dockerMessage, isUnreachable, type DockerError, type EngineCall } from './docker-errors.js'
import { pullEventError, PullProgressTracker, type PullEvent } from './pull-progress.js'
import { registryError } from './registry-errors.js'
import type { PullProgress, RegistryAuth } from './runtime.js'

const debug = createDebug('forrest:docker')

/** Whose credentials went with a request, for messages: the user name, or "an identity token". */
const whose = (auth: RegistryAuth | undefined): string | undefined => (auth?.username ? `user ${auth.username}` : auth?.identitytoken ? 'an identity token' : undefined)

/** The digest a registry gives for ref, asked through the engine (GET /distribution/{name}/json). */
export async function resolveDigestOn(docker: Docker, call: EngineCall, ref: string, auth?: RegistryAuth): Promise<string> {
  const registry = parseImageReference(ref)?.registry ?? DOCKER_HUB
  const res = await call('registry lookup', async () => {
    try {
      // GET /distribution/{name}/json: the engine asks the registry for the manifest's descriptor.
      return (await docker.getImage(ref).distribution(auth ? { authconfig: auth } : {})) as { Descriptor?: { digest?: string } }
    } catch (err) {
      throw registryError('cannot resolve', ref, registry, (err as DockerError).statusCode, dockerMessage(err), whose(auth), err) ?? err
    }
  })
  const digest = res.Descriptor?.digest
  if (!digest) throw new ForrestError('INTERNAL', `the Docker engine returned no digest for ${ref}`)
  debug('%s resolves to %s', ref, digest)
  return digest
}

/** Pull ref through the engine, reporting progress; a registry's refusal is its own error. */
export async function pullOn(docker: Docker, call: EngineCall, ref: string, auth: RegistryAuth | undefined, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
  const parsed = parseImageReference(ref)
  if (!parsed) throw new ForrestError('BAD_INPUT', `cannot pull ${ref}: an image ID is not a reference a registry knows`)
  const registry = parsed.registry
  const fail = (err: unknown, status?: number) => registryError('cannot pull', ref, registry, status, dockerMessage(err), whose(auth), err) ?? err
  const stream = await call('image pull', async () => {
    try {
      // tag carries a digest too: with an empty tag the engine would pull every tag of the repository.
      const opts = { fromImage: parsed.name, tag: parsed.digest ?? parsed.tag ?? 'latest', abortSignal: signal }
      return (await (auth ? docker.createImage(auth, opts) : docker.createImage(opts))) as NodeJS.ReadableStream
    } catch (err) {
      throw fail(err, (err as DockerError).statusCode)
    }
  })
  const tracker = new PullProgressTracker()
  await new Promise<void>((resolve, reject) => {
    let failed: string | undefined
    docker.modem.followProgress(
      stream,
      (err: unknown) => {
        if (err) return reject(isUnreachable(err) ? new ForrestError('DOCKER_UNREACHABLE', `Docker engine connection lost during the pull of ${ref}`, { cause: err }) : err)
        if (failed !== undefined) return reject(fail(new Error(failed)))
        resolve()
      },
      (e: PullEvent) => {
        const error = pullEventError(e)
        if (error !== undefined) failed ??= error
        const p = tracker.add(e)
        if (p && onProgress) onProgress(p)
      },
    )
  })
  debug('pulled %s', ref)
}
