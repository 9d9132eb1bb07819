import createDebug from 'debug'
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { probeFor } from '../health/probe.js'
import { forrestLabels } from '../labels.js'
import { instanceKey } from '../plan/keys.js'
import type { AdoptStep, RetireStep, StartStep } from '../plan/types.js'
import { waitForGatewayAcks } from '../registry/gateway-acks.js'
import type { Records } from '../registry/records.js'
import type { HealthSpec } from '../spec/types.js'
import { stopAndRemove } from './instance-ops.js'

const debug = createDebug('forrest:step')

/** How long a rollout waits for a live gateway to acknowledge a change before going on. */
const GATEWAY_ACK_TIMEOUT_MS = 30_000

/** Everything needed to run one instance of a revision (from the spec and its resolved image). */
export interface InstanceTemplate {
  revision: number
  /** Image id (sha256:...), so a moved tag never changes what a revision runs. */
  image: string
  port: number
  env: Record<string, string>
  command?: string[]
  labels: Record<string, string>
  health: HealthSpec
}

export interface StepDeps {
  ctx: Context
  records: Records
  app: string
  prefix: string
  /** Address announced in etcd. */
  ip: string
  /** Address the health probe uses to reach published ports from here. */
  probeHost: string
  template(revision: number): InstanceTemplate
  update: { soak: number; drain: number; stopGracePeriod: number }
  signal: AbortSignal
}

export interface StepOutcome {
  detail: string
  ms: number
}

const interrupted = () => new ForrestError('INTERRUPTED', 'interrupted', { suggestion: 'Run the same command again: it picks up from the state that is there.' })

/** launch → wait until healthy → soak → announce; on any failure the container is removed again. */
export async function startInstance(deps: StepDeps, step: StartStep): Promise<StepOutcome> {
  const { ctx, app, prefix } = deps
  const t0 = Date.now()
  if (deps.signal.aborted) throw interrupted()
  const tpl = deps.template(step.revision)
  const c = await ctx.runtime.run({
    name: step.instance,
    image: tpl.image,
    containerPort: tpl.port,
    bindIp: ctx.config.bindIp,
    env: tpl.env,
    command: tpl.command,
    labels: { ...ctx.config.extraLabels, ...tpl.labels, ...forrestLabels({ app, revision: step.revision, prefix }) },
  })
  return bringIntoService(deps, step.instance, c.id, c.hostPort, tpl, t0)
}

/** A running, unregistered container of the target revision: health check, then announce. */
export async function adoptInstance(deps: StepDeps, step: AdoptStep): Promise<StepOutcome> {
  const c = await deps.ctx.runtime.inspect(step.instance)
  if (!c) throw new ForrestError('ROLLOUT_FAILED', `${step.instance} disappeared before it could be adopted`)
  return bringIntoService(deps, step.instance, c.id, c.hostPort, deps.template(step.revision), Date.now())
}

/** Probe, soak, announce; on any failure withdraw and remove the container again (undo). */
async function bringIntoService(deps: StepDeps, name: string, id: string, hostPort: number | undefined, tpl: InstanceTemplate, t0: number): Promise<StepOutcome> {
  const { ctx, records, app, prefix } = deps
  const key = instanceKey(prefix, name)
  let announced = false
  try {
    if (!hostPort) throw new ForrestError('ROLLOUT_FAILED', `${name} has no published port`)
    const target = { containerId: id, name, address: `${deps.probeHost}:${hostPort}` }
    const probe = probeFor(ctx.runtime, tpl.health)
    const health = await probe.waitUntilHealthy(target, deps.signal)
    if (deps.update.soak > 0) {
      // Soak: keep probing for the soak time; any failed probe fails the instance.
      const n = Math.max(1, Math.ceil(deps.update.soak / tpl.health.interval))
      await probeFor(ctx.runtime, { ...tpl.health, successes: n, deadline: deps.update.soak + tpl.health.interval * 2 }).waitUntilHealthy(target, deps.signal)
    }
    if (deps.signal.aborted) throw interrupted()
    const address = `${deps.ip}:${hostPort}`
    const rev = await ctx.registry.announce(key, address)
    announced = true
    await records.putInstance(app, { name, container: id, host: ctx.config.ip, revision: tpl.revision, address })
    // With gateways, the instance counts as serving only once every gateway has HAProxy's own
    // check verdict for it; only then may an old instance be withdrawn.
    const ack = await waitForGatewayAcks(ctx.etcd, prefix, rev, { timeoutMs: GATEWAY_ACK_TIMEOUT_MS, root: ctx.config.recordsRoot })
    const lb = ack.outcome === 'acked' ? `, gateways took it in ${ack.waitedMs}ms` : ack.outcome === 'timeout' ? `, gateway ack timed out (${ack.lagging?.join(',')})` : ''
    return { detail: `healthy in ${health.ms}ms, announced ${address}${lb}`, ms: Date.now() - t0 }
  } catch (err) {
    const logs = (await ctx.runtime.logs(id, 20)).trim()
    debug('undo %s: %s', name, (err as Error).message)
    if (announced) await ctx.registry.withdraw(key).catch(() => undefined)
    await ctx.runtime.remove(id).catch(() => undefined)
    if (deps.signal.aborted) throw interrupted()
    const base = err instanceof ForrestError ? err.message : `${name}: ${(err as Error).message}`
    throw new ForrestError('ROLLOUT_FAILED', `${base}; removed it${logs ? `\n  last log lines of ${name}:\n    ${logs.split('\n').join('\n    ')}` : ''}`, { cause: err })
  }
}

/**
 * withdraw → drain → stop → remove. The drain waits for every live `forrest gateway` to
 * acknowledge the withdrawal (HAProxy has stopped routing and the sessions are done); with no
 * gateway registered (plain confd) it waits the configured drain time instead.
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
  const { ctx, records, app, prefix } = deps
  const t0 = Date.now()
  let drained = 'not registered'
  if (step.registered) {
    const rev = await ctx.registry.withdraw(instanceKey(prefix, step.instance))
    await records.deleteInstance(app, step.instance)
    if (step.running && containerId) {
      const ack = await waitForGatewayAcks(ctx.etcd, prefix, rev, { timeoutMs: Math.max(deps.update.drain, GATEWAY_ACK_TIMEOUT_MS), root: ctx.config.recordsRoot })
      if (ack.outcome === 'no-gateways') {
        await new Promise((r) => setTimeout(r, deps.update.drain)) // configured drain time (no gateway to acknowledge)
        drained = `drained ${deps.update.drain}ms (no gateway)`
      } else {
        drained = ack.outcome === 'acked' ? `gateways acked in ${ack.waitedMs}ms` : `gateway ack timed out (${ack.lagging?.join(',')})`
      }
    } else {
      drained = 'withdrawn'
    }
  } else {
    await records.deleteInstance(app, step.instance)
  }
  if (!containerId) return { detail: `${drained}, no container`, ms: Date.now() - t0 }
  const stopping = stopAndRemove(ctx.runtime, containerId, deps.update.stopGracePeriod / 1000)
  if (deferStop) {
    deferStop(stopping)
    return { detail: `${drained}, stopping`, ms: Date.now() - t0 }
  }
  await stopping
  return { detail: `${drained}, stopped`, ms: Date.now() - t0 }
}
