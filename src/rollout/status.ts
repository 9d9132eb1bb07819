import { probeHostOf } from '../config.js'
import type { Context } from '../context.js'
import { httpCheck } from '../health/probe.js'
import { isOwnRollout, LABEL } from '../labels.js'
import { readGatewayAcks } from '../registry/gateway-acks.js'
import { readLock } from '../registry/lock.js'
import { appNotFound, recordsOf } from './app-records.js'
import { lockKey } from '../plan/keys.js'
import { classifyApp, probeTargets, type AppObservation, type AppStatus, type ProbeResult, type ProbeTarget } from './status-drift.js'

export interface StatusReport {
  apps: AppStatus[]
  /** Every listed app is at its desired state (the command exits 0 only then). */
  converged: boolean
}

/** A single probe must not hold up the whole status: cap each at this. */
const PROBE_TIMEOUT_MS = 1000

/**
 * `forrest status [APP]`: reads only. One Docker list for every forrest container, one etcd
 * range read per announce prefix, the records and lock of each app, then one HTTP probe per
 * address, all in parallel. Containers without the forrest labels are never listed.
 */
export async function collectStatus(ctx: Context, app?: string): Promise<StatusReport> {
  const records = recordsOf(ctx)
  const apps = app ? [app] : await records.apps()
  const [containers, perApp, identity] = await Promise.all([
    ctx.runtime.list({ [LABEL.managed]: 'true' }),
    Promise.all(
      apps.map(async (name) => {
        const [current, revisions, lock, instances] = await Promise.all([
          records.current(name),
          records.revisions(name),
          readLock(ctx.etcd, ctx.config.etcdHosts, lockKey(ctx.config.recordsRoot, name)),
          records.instances(name),
        ])
        return { name, current, revisions, lock, recorded: new Set(instances.keys()) }
      }),
    ),
    ctx.identity(),
  ])
  const missing = perApp.find((a) => !a.current)
  if (missing) throw appNotFound(missing.name, await records.apps())

  const prefixOf = (a: (typeof perApp)[number]) => a.revisions.find((r) => r.revision === a.current!.revision)?.spec.announce.prefix ?? ctx.config.prefix
  const prefixes = [...new Set(perApp.map(prefixOf))]
  const keysByPrefix = new Map(await Promise.all(prefixes.map(async (p) => [p, await ctx.registry.list(p)] as const)))
  const gatewaysByPrefix = new Map(
    await Promise.all(
      prefixes.map(async (p) => {
        const { acks } = await readGatewayAcks(ctx.etcd, p, ctx.config.recordsRoot)
        return [p, [...acks].map(([id, a]) => ({ id, host: a.host, revision: a.revision, ...(a.error ? { error: a.error } : {}) }))] as const
      }),
    ),
  )

  const observations: AppObservation[] = perApp.map((a) => ({
    app: a.name,
    current: a.current!,
    revisions: a.revisions,
    containers: containers.filter((c) => isOwnRollout(c.labels, identity.owner, a.name)),
    foreign: containers.filter((c) => c.labels[LABEL.app] === a.name && !isOwnRollout(c.labels, identity.owner, a.name)),
    recorded: a.recorded,
    gateways: gatewaysByPrefix.get(prefixOf(a)) ?? [],
    keys: keysByPrefix.get(prefixOf(a)) ?? new Map(),
    ...(a.lock ? { lock: a.lock } : {}),
  }))
  const results = await Promise.all(
    observations.map(async (o) => new Map(await Promise.all(probeTargets(o, probeHostOf(ctx.config.bindIp, ctx.config.ip)).map(async (t) => [t.name, await probeOnce(t)] as const)))),
  )
  const now = Date.now()
  const statuses = observations.map((o, i) => classifyApp(o, results[i]!, now))
  return { apps: statuses, converged: statuses.every((s) => s.converged) }
}

function probeOnce(t: ProbeTarget): Promise<ProbeResult> {
  return httpCheck(t.address, { ...t.health, timeout: Math.min(t.health.timeout, PROBE_TIMEOUT_MS) })
}
