import { ForrestError } from '../errors.js'
import type { HostState } from '../hosts/fleet.js'
import type { DeploymentSpec } from '../spec/types.js'

/**
 * Before anything changes: every reachable host that may run the app has what its container
 * settings need (each user network, each bind mount's host path). forrest does not create
 * networks: a network is shared infrastructure (a database is on it too) whose driver, subnet
 * and encryption are the operator's choice; one forrest made up would hide a typo. All missing
 * pieces on all hosts are named at once.
 */
export async function checkHostSettings(spec: Pick<DeploymentSpec, 'container' | 'placement'>, image: string, hosts: HostState[], file: string): Promise<void> {
  const settings = spec.container
  if (!settings?.networks?.length && !settings?.volumes?.some((v) => v.type === 'bind')) return
  const wanted = Object.entries(spec.placement?.labels ?? {})
  const targets = hosts.filter((h) => !h.error && wanted.every(([k, v]) => h.host.labels[k] === v))
  const problems = (await Promise.all(targets.map(async (h) => (await h.host.runtime.checkSettings(image, settings)).map((p) => `host ${h.host.name}: ${p}`)))).flat()
  if (!problems.length) return
  throw new ForrestError('HOST_NOT_READY', `${file}: container settings cannot be met; nothing was changed:\n  ${problems.join('\n  ')}`, {
    suggestion: 'Create what is missing on those hosts (docker network create NAME; mkdir -p PATH), or change container.networks / container.volumes, then deploy again.',
  })
}
