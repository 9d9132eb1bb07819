import type { Context } from '../context.js'
import type { ContainerRuntime } from '../docker/runtime.js'
import { ForrestError, toForrestError } from '../errors.js'
import type { DeploymentSpec } from '../spec/types.js'

/** One Docker host of an app: where its instances run, are announced and are probed. */
export interface Host {
  name: string
  /** The address the load balancer reaches it by. */
  address: string
  labels: Record<string, string>
  /** As written (unix://, tcp://, ssh://), for messages. */
  endpoint: string
  runtime: ContainerRuntime
}

/** A host after trying to reach it: its engine ID, or why not. */
export interface HostState {
  host: Host
  engine?: string
  error?: ForrestError
}

/** The name of the one host an app without a `hosts:` list runs on: the local engine. */
export const LOCAL_HOST = 'local'

/**
 * The hosts of an app: its spec's list, or the local engine ($DOCKER_HOST, as the docker CLI
 * reads it) at the announce address. Runtimes come from the context, one per endpoint.
 */
export function hostsOf(ctx: Context, spec: Pick<DeploymentSpec, 'hosts' | 'announce'>): Host[] {
  if (!spec.hosts) return [{ name: LOCAL_HOST, address: spec.announce.address ?? ctx.config.ip, labels: {}, endpoint: process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock', runtime: ctx.runtime }]
  return spec.hosts.map((h) => ({ name: h.name, address: h.address, labels: h.labels, endpoint: h.docker, runtime: ctx.hostRuntime(h) }))
}

/** The hosts whose labels carry every placement label. */
export function eligible(hosts: Host[], spec: Pick<DeploymentSpec, 'placement'>): Host[] {
  const wanted = Object.entries(spec.placement?.labels ?? {})
  return hosts.filter((h) => wanted.every(([k, v]) => h.labels[k] === v))
}

/** Asks every host for its engine ID at once; an unreachable one is reported, not thrown. */
export async function reachHosts(hosts: Host[]): Promise<HostState[]> {
  return Promise.all(
    hosts.map(async (host) => {
      try {
        return { host, engine: await host.runtime.engineId() }
      } catch (err) {
        return { host, error: toForrestError(err) }
      }
    }),
  )
}

/**
 * DOCKER_UNREACHABLE naming every host that did not answer, and why. --allow-unreachable-hosts is
 * suggested only when some host of the `total` answered: with none, there is nothing to roll on.
 */
export function hostsUnreachable(down: HostState[], what: string, total = down.length): ForrestError {
  const suggestion =
    down.length < total
      ? 'Bring the host back, or deploy with --allow-unreachable-hosts to roll on the others (the bounds then hold for the reachable hosts; nothing on the missing one is touched).'
      : down.length === 1 && down[0]!.host.name === LOCAL_HOST
        ? 'Start the Docker engine (sudo systemctl start docker, or dockerd), or set DOCKER_HOST to the engine to deploy to; then run the command again.'
        : "Bring the hosts' Docker engines back (or fix their endpoints in the file's hosts: list); then run the command again."
  return new ForrestError('DOCKER_UNREACHABLE', `${what}: ${down.length === 1 ? 'host' : 'hosts'} ${down.map((d) => `${d.host.name} (${d.host.endpoint}): ${d.error?.message ?? 'no answer'}`).join('; ')}`, {
    suggestion,
    detail: { hosts: down.map((d) => ({ name: d.host.name, endpoint: d.host.endpoint, error: d.error?.message })) },
  })
}
