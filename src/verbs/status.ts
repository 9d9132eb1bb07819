import { bindIpFor, probeHostOf } from '../config.js'
import type { ContainerInfo, ContainerRuntime } from '../docker/runtime.js'
import { toForrestError } from '../errors.js'
import { hostsOf } from '../hosts/fleet.js'
import type { Context } from '../context.js'
import { httpCheck } from '../health/probe.js'
import { isOwnRollout, LABEL } from '../labels.js'
import { instanceNamePrefix } from '../plan/naming.js'
import { readGatewayAcks } from '../registry/gateway-acks.js'
import { readWeights } from '../registry/weights.js'
import { readLock } from '../registry/lock.js'
import { appNotFound, recordsOf } from '../engine/app-records.js'
import { lockKey } from '../plan/keys.js'
import { collectLaunched, type LaunchedStatus } from './status-launched.js'
import { collectHostMarks, departedOf, type HostMark } from './status-hosts.js'
import { classifyApp, probeTargets, type AppObservation, type AppStatus, type ProbeResult, type ProbeTarget } from './status-drift.js'

export interface StatusReport {
  apps: AppStatus[]
  /** `forrest status` without APP: containers `forrest launch` started here (never part of convergence). */
  launched?: LaunchedStatus[]
  /** Why the launch containers could not be listed (the local engine did not answer). */
  launchedError?: string
  /** Cordoned, draining and drained hosts (forrest host); collectStatus always sets it, [] when every host is in service. */
  hosts?: HostMark[]
  /** Every listed app is at its desired state (the command exits 0 only then). */
  converged: boolean
}

/** A single probe must not hold up the whole status: cap each at this. */
const PROBE_TIMEOUT_MS = 1000

/**
 * `forrest status [APP]`: reads only. One Docker list of forrest containers (of APP only, when
 * given), per app one etcd range read of its instances' keys (not its whole prefix, which other
 * apps share), its records and lock, then one HTTP probe per address of its own, all in
 * parallel. Containers without the forrest labels are never listed.
 */
export async function collectStatus(ctx: Context, app?: string): Promise<StatusReport> {
  const records = recordsOf(ctx)
  const apps = app ? [app] : await records.apps()
  const [perApp, identity] = await Promise.all([
    Promise.all(
      apps.map(async (name) => {
        const [current, revisions, lock, instances] = await Promise.all([
          records.current(name),
          records.revisions(name),
          readLock(ctx.etcd, ctx.config.etcdHosts, lockKey(ctx.config.recordsRoot, name)),
          records.instances(name),
        ])
        return { name, current, revisions, lock, recorded: new Set(instances.keys()), instanceRecords: [...instances.values()] }
      }),
    ),
    ctx.identity(),
  ])
  // Without APP, the launch containers too, alongside everything below.
  const launched = app ? undefined : collectLaunched(ctx, identity.owner)
  const hostMarks = collectHostMarks(ctx)
  const missing = perApp.find((a) => !a.current)
  if (missing) throw appNotFound(missing.name, await records.apps())

  const specOf = (a: (typeof perApp)[number]) => a.revisions.find((r) => r.revision === a.current!.revision)?.spec
  // Every host of every listed app, each asked once (in parallel) for its forrest containers.
  const hostsByApp = perApp.map((a) => hostsOf(ctx, specOf(a) ?? { announce: {} }))
  const hosts = [...new Map(hostsByApp.flat().map((h) => [`${h.name} ${h.endpoint}`, h])).values()]
  const listed = new Map(
    await Promise.all(
      hosts.map(async (h) => [`${h.name} ${h.endpoint}`, await h.runtime.list({ [LABEL.managed]: 'true', ...(app ? { [LABEL.app]: app } : {}) }).then((cs) => ({ cs }), (err: unknown) => ({ err: toForrestError(err) }))] as const),
    ),
  )
  // No host answering at all is an error of its own (exit 7); some hosts down is drift to report.
  const answers = [...listed.values()]
  if (answers.length > 0 && answers.every((r) => 'err' in r)) throw (answers[0] as { err: Error }).err
  const prefixOf = (a: (typeof perApp)[number]) => specOf(a)?.announce.prefix ?? ctx.config.prefix
  const prefixes = [...new Set(perApp.map(prefixOf))]
  const keysByApp = await Promise.all(perApp.map((a) => ctx.registry.list(prefixOf(a), instanceNamePrefix(a.name))))
  const gatewaysByPrefix = new Map(
    await Promise.all(
      prefixes.map(async (p) => {
        const { acks } = await readGatewayAcks(ctx.etcd, p, ctx.config.recordsRoot)
        return [p, [...acks].map(([id, a]) => ({ id, host: a.host, revision: a.revision, ...(a.error ? { error: a.error } : {}), ...(a.weights ? { weights: a.weights } : {}) }))] as const
      }),
    ),
  )

  // forrest's own weight records: what decides a blue/green standby when no gateway acknowledges (none live).
  const recordedByPrefix = new Map(await Promise.all(prefixes.map(async (p) => [p, await readWeights(ctx.etcd, p, ctx.config.recordsRoot)] as const)))

  const observations: AppObservation[] = perApp.map((a, i) => {
    const appHosts = hostsByApp[i]!
    const containers: ContainerInfo[] = []
    const hostOf = new Map<string, string>()
    const hostsDown: Array<{ name: string; error: string }> = []
    const runtimeOf = new Map<string, ContainerRuntime>()
    for (const h of appHosts) {
      const r = listed.get(`${h.name} ${h.endpoint}`)!
      if ('err' in r) hostsDown.push({ name: h.name, error: r.err.message })
      else for (const c of r.cs.filter((c) => c.labels[LABEL.app] === a.name)) (containers.push(c), hostOf.set(c.name, h.name), runtimeOf.set(c.name, h.runtime))
    }
    return {
      app: a.name,
      current: a.current!,
      revisions: a.revisions,
      containers: containers.filter((c) => isOwnRollout(c.labels, identity.owner, a.name)),
      runtimeOf,
      foreign: containers.filter((c) => !isOwnRollout(c.labels, identity.owner, a.name)),
      recorded: a.recorded,
      gateways: gatewaysByPrefix.get(prefixOf(a)) ?? [],
      recordedWeights: recordedByPrefix.get(prefixOf(a)),
      keys: keysByApp[i]!,
      hostOf,
      hostsDown,
      departed: departedOf(appHosts.map((h) => h.name), a.instanceRecords.filter((r) => !hostOf.has(r.name))), // seen on a listed host: not departed
      addressOf: (host?: string) => appHosts.find((h) => h.name === host)?.address ?? ctx.config.ip,
      ...(a.lock ? { lock: a.lock } : {}),
    }
  })
  // Restart counts (a crash loop) and start times are in inspect only: one call per own container, in parallel.
  await Promise.all(
    observations.flatMap((o) =>
      o.containers.map(async (c, i) => {
        const info = await o.runtimeOf!.get(c.name)!.inspect(c.id).catch(() => undefined)
        if (info) o.containers[i] = { ...c, restartCount: info.restartCount, ...(info.oomKilled ? { oomKilled: true } : {}), ...(info.startedAt ? { startedAt: info.startedAt } : {}) }
      }),
    ),
  )
  const results = await Promise.all(
    observations.map(async (o) => new Map(await Promise.all(probeTargets(o, (host) => probeHostOf(bindIpFor(ctx.config, o.addressOf!(host)), o.addressOf!(host))).map(async (t) => [t.name, await probeOnce(t)] as const)))),
  )
  const now = Date.now()
  const statuses = observations.map((o, i) => classifyApp(o, results[i]!, now))
  return { apps: statuses, ...(launched ? await launched : {}), ...(await hostMarks), converged: statuses.every((s) => s.converged) }
}

function probeOnce(t: ProbeTarget): Promise<ProbeResult> {
  return httpCheck(t.address, { ...t.health, timeout: Math.min(t.health.timeout, PROBE_TIMEOUT_MS) })
}
