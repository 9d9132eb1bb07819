import { bindIpFor, probeHostOf } from '../config.js'
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { eligible, type HostState } from '../hosts/fleet.js'
import type { HostTarget, StepDeps } from './steps.js'
import type { ResolvedSpec } from './types.js'
import type { Identity } from '../context.js'
import type { InstanceRegistry } from '../registry/instances.js'
import type { DeployLock } from '../registry/lock.js'
import type { Records } from '../registry/records.js'
import type { InstanceTemplate } from './steps.js'
import type { RolloutRequest } from './types.js'

/** The reachable hosts as step targets: each with its engine, and the addresses its instances use. */
export function hostTargets(ctx: Context, hosts: HostState[]): (name?: string) => HostTarget {
  const targets = new Map<string, HostTarget>()
  for (const { host, engine } of hosts) {
    if (engine === undefined) continue
    const bindIp = bindIpFor(ctx.config, host.address)
    targets.set(host.name, { name: host.name, runtime: host.runtime, engine, address: host.address, bindIp, probeHost: probeHostOf(bindIp, host.address) })
  }
  return (name) => {
    const t = name === undefined ? targets.values().next().value : targets.get(name)
    if (!t) throw new ForrestError('DOCKER_UNREACHABLE', `host ${name ?? '(none)'} is not reachable`)
    return t
  }
}

/**
 * Fixed host ports, per host: the lowest port of the range that no container on that engine
 * publishes and this rollout has not handed out. A port something outside Docker holds shows
 * up as Docker's bind error, and the step asks again (taken).
 */
export function portAllocator(range: { from: number; to: number }): StepDeps['ports'] {
  const used = new Map<string, Promise<Set<number>>>()
  const usedOn = (host: HostTarget) => {
    let u = used.get(host.name)
    if (!u) used.set(host.name, (u = host.runtime.publishedPorts()))
    return u
  }
  return {
    async allocate(host) {
      const u = await usedOn(host)
      for (let p = range.from; p <= range.to; p++) {
        if (u.has(p)) continue
        u.add(p)
        return p
      }
      throw new ForrestError('ROLLOUT_FAILED', `no free host port left in ${range.from}-${range.to} on ${host.name}`, { suggestion: 'Widen hostPorts in the deployment file.' })
    },
    taken(host, port) {
      void usedOn(host).then((u) => u.add(port))
    },
  }
}

/** Reachable hosts that match the placement, in inventory order: where new instances may go. */
export const placeable = (hosts: HostState[], spec: ResolvedSpec) =>
  eligible(
    hosts.filter((h) => h.engine !== undefined).map((h) => h.host),
    spec,
  ).map((h) => h.name)

/** What every step of a rollout works with: hosts, ports, templates, gateways, the lock, one signal. */
export function stepDeps(
  ctx: Context,
  req: RolloutRequest,
  x: { records: Records; registry: InstanceRegistry; lock?: DeployLock; identity: Identity; templates: Map<number, () => InstanceTemplate>; gateways: Map<string, Set<string>> },
): StepDeps {
  const { spec } = req
  return {
    ctx,
    records: x.records,
    registry: x.registry,
    assertHeld: () => x.lock?.assertHeld(),
    identity: x.identity,
    app: spec.name,
    prefix: spec.announce.prefix,
    host: hostTargets(ctx, req.hosts),
    ports: portAllocator(spec.hostPorts),
    template: (r) => {
      const t = x.templates.get(r)
      if (!t) throw new ForrestError('INTERNAL', `no template for revision ${r}`)
      return t()
    },
    update: spec.update,
    gateways: (p) => x.gateways.get(p) ?? new Set(),
    ackTimeoutMs: spec.gateways.timeout,
    // The progress deadline aborts like Ctrl-C does, but is handled as a failure (rollback);
    // a lost lock aborts too, and stops everything.
    signal: AbortSignal.any([req.signal, AbortSignal.timeout(spec.update.progressDeadline), ...(x.lock ? [x.lock.lost] : [])]),
  }
}
