import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import type { ContainerInfo } from '../docker/runtime.js'
import { LABEL } from '../labels.js'
import { instanceKey } from '../plan/keys.js'
import { readGatewayAcks } from '../registry/gateway-acks.js'
import { InstanceRegistry } from '../registry/instances.js'
import { acquireLock } from '../registry/lock.js'
import { Records, type InstanceRecord } from '../registry/records.js'
import { recordsOf } from '../engine/app-records.js'
import { findForrestContainer } from '../engine/instance-ops.js'
import { hostsOf, type Host } from '../hosts/fleet.js'
import { lockKey } from '../plan/keys.js'
import { retireInstance, type StepDeps } from '../engine/steps.js'

export interface StopResult {
  name: string
  container: string
  key: string
  withdrawn: boolean
  detail: string
}

export interface StopOptions {
  graceSeconds: number
  /** Drain time without gateways; default: the app's recorded update.drain, else 2s. */
  drainMs?: number
  waitLockMs: number
  actor: string
  signal: AbortSignal
  /** `--host`: where a `forrest launch` container runs (an app's instance is found from its record). */
  host?: Host
}

/**
 * `forrest stop`: under the app's lock, the same path a rollout retires an instance by:
 * withdraw the key, wait for every live gateway to acknowledge (or the drain time without one),
 * then stop (SIGTERM, grace, SIGKILL) and remove. Only this environment's containers.
 */
export async function stop(ctx: Context, name: string, opts: StopOptions, log: (line: string) => void): Promise<StopResult> {
  log(`Stopping ${name} ...`)
  const identity = await ctx.identity()
  // Refuse before touching etcd: a container without forrest's labels is not ours.
  const { host, record } = await hostOfInstance(ctx, name, opts.host)
  const c = await findForrestContainer(host.runtime, name, { host: host.name, given: opts.host !== undefined })
  if (c.labels[LABEL.owner] !== identity.owner) {
    throw new ForrestError('NOT_FORREST_CONTAINER', `container "${name}" belongs to another forrest environment (${c.labels[LABEL.owner] ?? 'no owner label'}), not ${identity.owner}; leaving it alone`, {
      suggestion: 'Stop it with the ETCD_HOST and FORREST_ROOT of the environment that started it.',
    })
  }
  log(`Found container ${c.id.slice(0, 12)} ...`)
  const app = c.labels[LABEL.app] ?? name
  const prefix = c.labels[LABEL.prefix] ?? ctx.config.prefix
  const key = instanceKey(prefix, c.name)
  const lock = await acquireLock(ctx.etcd, ctx.config.etcdHosts, lockKey(ctx.config.recordsRoot, app), { actor: opts.actor, command: `stop ${name}` }, { waitMs: opts.waitLockMs, ttlSeconds: ctx.config.lockTtlSec })
  try {
    const announced = await ctx.registry.get(key)
    refuseDisagreement(key, announced, record, c, host)
    const withdrawn = announced !== null
    const gateways = new Set((await readGatewayAcks(ctx.etcd, prefix, ctx.config.recordsRoot)).acks.keys())
    const deps: StepDeps = {
      ctx,
      records: new Records(ctx.etcd, ctx.config.etcdHosts, ctx.config.recordsRoot, lock.writer),
      registry: new InstanceRegistry(ctx.etcd, ctx.config.etcdHosts, lock.writer),
      assertHeld: lock.assertHeld,
      identity,
      app,
      prefix,
      host: () => ({ ...host, engine: '', bindIp: host.address, probeHost: host.address }),
      template: () => {
        throw new ForrestError('INTERNAL', 'stop starts nothing')
      },
      ports: {
        allocate: () => Promise.reject(new ForrestError('INTERNAL', 'stop starts nothing')),
        taken: () => undefined,
      },
      update: { soak: 0, drain: opts.drainMs ?? (await recordedDrain(ctx, app)), stopGracePeriod: opts.graceSeconds * 1000 },
      gateways: () => gateways,
      ackTimeoutMs: 30_000,
      signal: AbortSignal.any([opts.signal, lock.lost]),
    }
    const out = await retireInstance(deps, { kind: 'retire', instance: c.name, registered: withdrawn, running: c.running, reason: 'scale-down', prefix }, c.id)
    log('Stopped.')
    return { name: c.name, container: c.id, key, withdrawn, detail: out.detail }
  } finally {
    await lock.release()
  }
}

/**
 * Where an instance runs: the host its record names (an app deployed with `hosts:`), else the
 * local engine (`forrest launch` containers, and apps on the local engine).
 */
async function hostOfInstance(ctx: Context, name: string, given?: Host): Promise<{ host: Host; record?: InstanceRecord & { app: string } }> {
  const records = recordsOf(ctx)
  for (const app of await records.apps()) {
    const rec = (await records.instances(app)).get(name)
    if (!rec) continue
    const current = await records.current(app)
    const revision = current && (await records.revision(app, current.revision))
    const host = revision && hostsOf(ctx, revision.spec).find((h) => h.name === rec.host)
    if (host && given && given.name !== host.name) {
      throw new ForrestError('BAD_INPUT', `${name} is app ${app}'s instance on host ${host.name} (its record says so), not on ${given.name}; nothing was stopped or withdrawn`, {
        suggestion: `Run forrest stop ${name} without --host (the record names its host), or with --host ${host.name}.`,
      })
    }
    if (host) return { host, record: { ...rec, app } }
  }
  return { host: given ?? hostsOf(ctx, { announce: { address: ctx.config.ip } })[0]! }
}

/**
 * stop acts only on what the key, the instance record and the container agree on: a key that
 * points elsewhere (written by hand, or by an older `forrest launch` over an app's key) is
 * another instance's, and withdrawing it or stopping this container would take down the wrong one.
 */
function refuseDisagreement(key: string, announced: string | null, record: (InstanceRecord & { app: string }) | undefined, c: ContainerInfo, host: Host): void {
  const published = c.hostPort ? `${host.address}:${c.hostPort}` : undefined
  const expected = record?.address ?? published
  if (announced === null || announced === expected) return
  const whose = record ? `app ${record.app}'s record of ${c.name} says ${record.address} (on host ${record.host})` : `container ${c.name} publishes ${published ?? 'no port'} on ${host.name}`
  throw new ForrestError('KEY_CONFLICT', `${key} = ${announced}, but ${whose}: the key and the instance disagree, so forrest stop leaves both alone. Nothing was stopped or withdrawn`, {
    suggestion: `Find what answers at ${announced} (forrest status, docker ps on that host) and stop that; then forrest stop ${c.name} again.`,
  })
}

async function recordedDrain(ctx: Context, app: string): Promise<number> {
  const records = recordsOf(ctx)
  const current = await records.current(app)
  const rec = current && (await records.revision(app, current.revision))
  return rec?.spec.update.drain ?? 2000
}
