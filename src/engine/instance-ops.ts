import type { ContainerInfo, ContainerRuntime } from '../docker/runtime.js'
import { ForrestError } from '../errors.js'
import { isForrestManaged, LABEL } from '../labels.js'
import { instanceKey } from '../plan/keys.js'
/** Building blocks `forrest launch`/`stop` and rollouts share. */

/** The container port to use: the flag/spec, else the image's single exposed TCP port. */
export function choosePort(image: string, requested: number | undefined, exposed: number[]): number {
  if (requested) return requested
  if (exposed.length === 1) return exposed[0]!
  throw new ForrestError(
    'NO_EXPOSED_PORT',
    exposed.length === 0 ? `image "${image}" exposes no port` : `image "${image}" exposes several ports (${exposed.join(', ')})`,
    { suggestion: 'Name the container port: --port 8080 (or `port:` in the deployment file).' },
  )
}

export const addressOf = (ip: string, c: ContainerInfo): string => {
  if (!c.hostPort) throw new ForrestError('ROLLOUT_FAILED', `container ${c.name} has no published port`)
  return `${ip}:${c.hostPort}`
}

/** Finds a container forrest may touch, or says clearly why not. */
export async function findForrestContainer(runtime: ContainerRuntime, name: string, on?: { host: string; given: boolean }): Promise<ContainerInfo> {
  const c = await runtime.inspect(name)
  if (!c) {
    // Name the host looked at: `docker ps` on this machine cannot list another host's containers.
    if (on?.given) {
      throw new ForrestError('CONTAINER_NOT_FOUND', `no container named "${name}" on host ${on.host}; nothing was stopped or withdrawn`, {
        suggestion: `Check the name, and that it was started with forrest launch --host ${on.host} (an app's instance is found from its record, without --host).`,
      })
    }
    throw new ForrestError('CONTAINER_NOT_FOUND', `no container named "${name}" on ${on ? `host ${on.host}` : 'this Docker host'}; nothing was stopped or withdrawn`, {
      suggestion: 'List forrest containers with: docker ps --filter label=forrest.managed=true (a container started with forrest launch --host NAME is stopped with the same --host NAME --hosts-file FILE).',
    })
  }
  if (!isForrestManaged(c.labels)) {
    throw new ForrestError('NOT_FORREST_CONTAINER', `container "${name}" was not started by forrest; leaving it alone`, {
      suggestion: 'forrest only stops containers carrying its forrest.managed label; use docker stop for others.',
    })
  }
  return c
}

/** The etcd key a forrest container is announced under: /<its prefix label>/<its name>. */
export const keyOf = (c: ContainerInfo, defaultPrefix: string): string => instanceKey(c.labels[LABEL.prefix] ?? defaultPrefix, c.name)

/** Withdraw first so no new traffic is routed, then stop (SIGTERM, grace, SIGKILL) and remove. */
export async function stopAndRemove(runtime: ContainerRuntime, id: string, graceSeconds: number): Promise<void> {
  await runtime.stop(id, graceSeconds)
  await runtime.remove(id)
}
