import createDebug from 'debug'
import type { Context, Identity } from '../context.js'
import type { ContainerRuntime, RunOptions } from '../docker/runtime.js'
import { forrestLabels } from '../labels.js'
import { ForrestError } from '../errors.js'
import { probeFor } from '../health/probe.js'
import { instanceKey } from '../plan/keys.js'
import type { AdoptStep, RetireStep, StartStep } from '../plan/types.js'
import { gatewayCheckPrefix, waitForGatewayAcks, waitForGone, waitForServing, type GatewayAckResult } from '../registry/gateway-acks.js'
import type { InstanceRegistry } from '../registry/instances.js'
import { weightKey } from '../registry/weights.js'
import { del, put, type KvOp } from '../registry/kv-writer.js'
import type { Records } from '../registry/records.js'
import type { ContainerSettings, HealthSpec } from '../spec/types.js'
import { portMismatch } from './failure-cause.js'
import { stopAndRemove } from './instance-ops.js'
import type { StepPhase } from './types.js'

const debug = createDebug('forrest:step')

/** Everything needed to run one instance of a revision (from the spec and its resolved image). */
export interface InstanceTemplate {
  revision: number
  /** `name@sha256:<digest>` (from a registry) or the image id: a moved tag never changes what a revision runs. */
  image: string
  templateHash: string
  port: number
  env: Record<string, string>
  command?: string[]
  labels: Record<string, string>
  health: HealthSpec
  /** The spec's container settings (networks, volumes, limits...). */
  settings?: ContainerSettings
  /** The revision's workers (processes without a port), by name: what their containers run. */
  processes?: Record<string, WorkerTemplate>
}

/** A worker process of a revision: the revision's image and env, its own command, health and settings. */
export interface WorkerTemplate {
  command?: string[]
  health: HealthSpec
  settings?: ContainerSettings
  /** ms between the stop signal and SIGKILL. */
  stopGracePeriod: number
}

/** Where a step runs: one host's engine, and the addresses its instances use. */
export interface HostTarget {
  name: string
  runtime: ContainerRuntime
  /** Its Docker engine's ID, recorded with each instance (stale-key proof). */
  engine: string
  /** Address announced in etcd (where the load balancer reaches the host). */
  address: string
  /** Host address published ports bind to. */
  bindIp: string
  /** Address the health probe uses: the announced one unless bound elsewhere. */
  probeHost: string
}

export interface StepDeps {
  ctx: Context
  /** Records and registry writing through the lock's fenced writer. */
  records: Records
  registry: InstanceRegistry
  /** Throws LOCK_LOST; called before every Docker change. */
  assertHeld(): void
  identity: Identity
  app: string
  /** The target prefix (new instances); a retired one is withdrawn under its own. */
  prefix: string
  /** A reachable host by name (a step without a host: the app's only one). */
  host(name?: string): HostTarget
  template(revision: number): InstanceTemplate
  update: { soak: number; drain: number; stopGracePeriod: number }
  /** A free host port on the host (fixed, so a restart keeps the address); `taken` marks one Docker refused. */
  ports: { allocate(host: HostTarget): Promise<number>; taken(host: HostTarget, port: number): void }
  /** Gateways live when the rollout began, per prefix: each must acknowledge, or the step fails. */
  gateways(prefix: string): ReadonlySet<string>
  /** How long a withdrawal waits for the gateways' acknowledgements. */
  ackTimeoutMs: number
  signal: AbortSignal
  /** Containers created ahead of their start steps (the executor sets it; absent: each step creates its own). */
  ahead?: { take(step: StartStep): Promise<{ id: string; hostPort: number; createMs: number } | undefined> }
  /** Called as an instance reaches each phase (for the report's timeline; optional). */
  mark?(instance: string, phase: StepPhase): void
}

export interface StepOutcome {
  detail: string
  ms: number
}

const interrupted = (signal: AbortSignal) =>
  signal.reason instanceof ForrestError && signal.reason.code === 'LOCK_LOST'
    ? signal.reason
    : new ForrestError('INTERRUPTED', 'interrupted', { suggestion: 'Run the same command again: it picks up from the state that is there.' })

const lockLost = (err: unknown) => err instanceof ForrestError && err.code === 'LOCK_LOST'

/** launch → wait until healthy → soak → announce; on any failure the container is removed again. */
export async function startInstance(deps: StepDeps, step: StartStep): Promise<StepOutcome> {
  const t0 = Date.now()
  if (deps.signal.aborted) throw interrupted(deps.signal)
  const tpl = deps.template(step.revision)
  const host = deps.host(step.host)
  const ahead = await deps.ahead?.take(step)
  const c = (ahead && (await startCreated(deps, host, step, ahead.id, ahead.hostPort))) || (await runOnFreePort(deps, host, instanceRunOptions(deps, step, host)))
  deps.mark?.(step.instance, 'started')
  const out = await bringIntoService(deps, host, step.instance, c.id, c.hostPort, tpl, t0, step.weight)
  return ahead && c.id === ahead.id ? { ...out, detail: `created ahead in ${ahead.createMs}ms, ${out.detail}` } : out
}

/** Starts a container created ahead; undefined when its port was taken meanwhile (it is removed: the step runs a new one). */
async function startCreated(deps: StepDeps, host: HostTarget, step: StartStep, id: string, hostPort: number) {
  deps.assertHeld()
  try {
    const c = await host.runtime.start(id, { name: step.instance, bindIp: host.bindIp, hostPort })
    return { ...c, hostPort: c.hostPort ?? hostPort }
  } catch (err) {
    if (!(err instanceof ForrestError && err.code === 'PORT_TAKEN')) throw err
    deps.ports.taken(host, hostPort)
    return undefined
  }
}

/** What a start step's container is created from (everything but its host port). */
export function instanceRunOptions(deps: StepDeps, step: StartStep, host: HostTarget): Omit<RunOptions, 'hostPort'> {
  const tpl = deps.template(step.revision)
  return {
    name: step.instance,
    image: tpl.image,
    containerPort: tpl.port,
    bindIp: host.bindIp,
    env: tpl.env,
    command: tpl.command,
    labels: {
      ...deps.ctx.config.extraLabels,
      ...tpl.labels,
      ...forrestLabels({ owner: deps.identity.owner, app: deps.app, kind: 'rollout', revision: step.revision, template: tpl.templateHash, prefix: deps.prefix }),
    },
    // Crashes and engine restarts (a reboot too) bring it back, on the same host port.
    restart: 'unless-stopped',
    settings: tpl.settings,
    stopGraceSeconds: deps.update.stopGracePeriod / 1000,
  }
}

/** Creates and starts the container on a fixed host port; one something else took meanwhile is skipped. */
async function runOnFreePort(deps: StepDeps, host: HostTarget, opts: Omit<RunOptions, 'hostPort'>) {
  for (let attempt = 1; ; attempt++) {
    const hostPort = await deps.ports.allocate(host)
    deps.assertHeld()
    try {
      const c = await host.runtime.run({ ...opts, hostPort })
      // A container that exited right away lists no port binding; it still has this one.
      return { ...c, hostPort: c.hostPort ?? hostPort }
    } catch (err) {
      if (!(err instanceof ForrestError && err.code === 'PORT_TAKEN') || attempt >= 20) throw err
      debug('%s: port %d taken on %s, trying another', opts.name, hostPort, host.name)
      deps.ports.taken(host, hostPort)
    }
  }
}

/** A running, unregistered container of the target revision: health check, then announce. */
export async function adoptInstance(deps: StepDeps, step: AdoptStep): Promise<StepOutcome> {
  const host = deps.host(step.host)
  const c = await host.runtime.inspect(step.instance)
  if (!c) throw new ForrestError('ROLLOUT_FAILED', `${step.instance} disappeared from ${host.name} before it could be adopted`)
  return bringIntoService(deps, host, step.instance, c.id, c.hostPort, deps.template(step.revision), Date.now(), step.weight)
}

/** The key, its instance record and its health check for the gateways: written and removed together. */
function instanceOps(deps: StepDeps, name: string, prefix: string, record?: { host: HostTarget; container: string; revision: number; address: string; health: HealthSpec; weight?: number }): KvOp[] {
  const root = deps.ctx.config.recordsRoot
  const checkKey = gatewayCheckPrefix(prefix, root) + name
  // Its traffic weight (weights.ts) goes with it: a later instance of the same name starts at the default.
  if (!record) return [deps.records.deleteInstanceOp(deps.app, name), del(checkKey), del(weightKey(prefix, name, root))]
  const { host, container, revision, address, health } = record
  const ops = [deps.records.putInstanceOp(deps.app, { name, container, host: host.name, engine: host.engine, revision, address, prefix })]
  if (health.type === 'http') ops.push(put(checkKey, JSON.stringify({ path: health.path, status: health.status })))
  if (record.weight !== undefined) ops.push(put(weightKey(prefix, name, root), String(record.weight)))
  return ops
}

/**
 * Probe, soak, announce, then HAProxy's verdict from every gateway; on any failure withdraw and
 * remove the container again (undo). An acknowledgement counts only as "HAProxy's check passed
 * and it takes traffic": a failed or missing verdict by the health deadline fails the instance.
 */
async function bringIntoService(deps: StepDeps, host: HostTarget, name: string, id: string, hostPort: number | undefined, tpl: InstanceTemplate, t0: number, weight?: number): Promise<StepOutcome> {
  const { ctx, prefix } = deps
  const runtime = host.runtime
  const key = instanceKey(prefix, name)
  let announced = false
  try {
    if (!hostPort) throw new ForrestError('ROLLOUT_FAILED', `${name} has no published port`)
    // Probed where the load balancer reaches it: a passing probe means the address works.
    const target = { containerId: id, name, address: `${host.probeHost}:${hostPort}` }
    const health = await probeFor(runtime, tpl.health).waitUntilHealthy(target, deps.signal)
    if (deps.update.soak > 0) {
      // Soak: keep probing for the soak time; any failed probe fails the instance.
      const n = Math.max(1, Math.ceil(deps.update.soak / tpl.health.interval))
      await probeFor(runtime, { ...tpl.health, successes: n, deadline: deps.update.soak + tpl.health.interval * 2 }).waitUntilHealthy(target, deps.signal)
    }
    if (deps.signal.aborted) throw interrupted(deps.signal)
    deps.mark?.(name, 'healthy')
    const address = `${host.address}:${hostPort}`
    const rev = await deps.registry.announce(key, address, instanceOps(deps, name, prefix, { host, container: id, revision: tpl.revision, address, health: tpl.health, weight }))
    announced = true
    deps.mark?.(name, 'announced')
    const ack = await waitForServing(ctx.etcd, prefix, name, rev, { timeoutMs: tpl.health.deadline, root: ctx.config.recordsRoot, expected: deps.gateways(prefix) })
    if (ack.outcome === 'failed') throw ackFailure(`${name} was announced at ${address}, but the load balancer does not serve it`, ack)
    if (ack.outcome === 'acked') deps.mark?.(name, 'acked')
    const lb = ack.outcome === 'acked' ? `, HAProxy serves it (${ack.gateways.length} gateway${ack.gateways.length === 1 ? '' : 's'}, ${ack.waitedMs}ms)` : ''
    return { detail: `healthy in ${health.ms}ms, announced ${address}${lb}`, ms: Date.now() - t0 }
  } catch (err) {
    if (lockLost(err)) throw err // not ours to touch any more
    debug('undo %s: %s', name, (err as Error).message)
    const logs = (await runtime.logs(id, 20)).trim()
    const unhealthy = err instanceof ForrestError && / was not healthy within /.test(err.message)
    const portCause = unhealthy ? await portMismatch(runtime, tpl.image, tpl.port) : undefined
    if (announced) {
      // Withdraw, and give the gateways a moment to drain it before the container goes.
      const rev = await deps.registry.withdraw(key, instanceOps(deps, name, prefix)).catch(() => undefined)
      if (rev) deps.mark?.(name, 'withdrawn')
      if (rev) await waitForGatewayAcks(ctx.etcd, prefix, rev, { timeoutMs: Math.min(deps.ackTimeoutMs, 5000), root: ctx.config.recordsRoot }).catch(() => undefined)
    }
    if (!deps.signal.aborted || !lockLost(deps.signal.reason)) {
      deps.assertHeld()
      await runtime.remove(id).then(() => deps.mark?.(name, 'stopped')).catch(() => undefined)
    }
    if (deps.signal.aborted) throw interrupted(deps.signal)
    const base = `${err instanceof ForrestError ? err.message : `${name}: ${(err as Error).message}`}${portCause ? `; ${portCause}` : ''}`
    throw new ForrestError('ROLLOUT_FAILED', `${base}; removed it${logs ? `\n  last log lines of ${name}:\n    ${logs.split('\n').join('\n    ')}` : ''}`, { cause: err })
  }
}

function ackFailure(what: string, ack: GatewayAckResult): ForrestError {
  return new ForrestError('ROLLOUT_FAILED', `${what}:\n    ${(ack.problems ?? []).join('\n    ')}`, {
    suggestion: 'Check the gateway\'s log and `forrest status`; HAProxy must reach the announced address and its check must pass.',
  })
}

/**
 * withdraw → drain → stop → remove. The drain waits for every gateway live when the rollout began
 * to acknowledge the withdrawal (HAProxy has stopped routing and the sessions are done); a gateway
 * that does not, fails the step and the container keeps running. With no gateway at all (plain
 * confd) it waits the configured drain time instead.
 *
 * With `deferStop`, the step ends once the container is out of service and its stop has been
 * requested; the stop itself (SIGTERM, grace, kill, remove: ~200 ms of dockerd teardown) runs on
 * while the next wave starts, as Kubernetes does not count terminating pods against maxSurge.
 */
export async function retireInstance(
  deps: StepDeps,
  step: RetireStep,
  containerId: string | undefined,
  deferStop?: (stopping: Promise<void>) => void,
): Promise<StepOutcome> {
  const { ctx } = deps
  const prefix = step.prefix ?? deps.prefix
  const t0 = Date.now()
  let drained = 'not registered'
  if (step.registered) {
    const rev = await deps.registry.withdraw(instanceKey(prefix, step.instance), instanceOps(deps, step.instance, prefix))
    deps.mark?.(step.instance, 'withdrawn')
    if (step.running && containerId) {
      const ack = await waitForGatewayAcks(ctx.etcd, prefix, rev, { timeoutMs: Math.max(deps.update.drain, deps.ackTimeoutMs), root: ctx.config.recordsRoot, expected: deps.gateways(prefix) })
      if (ack.outcome === 'failed') throw ackFailure(`${step.instance} was withdrawn but not every load balancer confirmed it has stopped routing to it, so it was not stopped`, ack)
      if (ack.outcome === 'no-gateways') {
        await new Promise((r) => setTimeout(r, deps.update.drain)) // configured drain time (no gateway to acknowledge)
        drained = `drained ${deps.update.drain}ms (no gateway)`
      } else {
        drained = `gateways acked in ${ack.waitedMs}ms`
      }
      deps.mark?.(step.instance, 'drained')
    } else {
      drained = 'withdrawn'
    }
  } else {
    await deps.records.deleteInstances(deps.app, [step.instance])
    if (step.running && containerId) {
      // Unregistered but running (an interrupted run withdrew it, or never announced it): a gateway
      // may not have drained it yet. Stop it only once no gateway routes to it or drains it.
      const ack = await waitForGone(ctx.etcd, prefix, step.instance, { timeoutMs: deps.ackTimeoutMs, root: ctx.config.recordsRoot, expected: deps.gateways(prefix) })
      if (ack.outcome === 'failed') throw ackFailure(`${step.instance} is not registered, but not every load balancer confirmed it no longer routes to it, so it was not stopped`, ack)
    }
  }
  if (!containerId) return { detail: `${drained}, no container`, ms: Date.now() - t0 }
  deps.assertHeld()
  const stopping = stopAndRemove(deps.host(step.host).runtime, containerId, deps.update.stopGracePeriod / 1000).then(() => deps.mark?.(step.instance, 'stopped'))
  if (deferStop) {
    deferStop(stopping)
    return { detail: `${drained}, stopping`, ms: Date.now() - t0 }
  }
  await stopping
  return { detail: `${drained}, stopped`, ms: Date.now() - t0 }
}
