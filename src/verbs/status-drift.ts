/**
 * `forrest status`, the pure part: given what one app's records say, what Docker lists, what its
 * keys in etcd name and how each probe went, classify every instance and everything that is
 * out of step. No I/O here, so every kind of drift is a cheap unit test.
 */
import { effectiveWeight, standbyOf, weightOrRecorded, type Standby, type Weights } from './status-weights.js'
import type { ContainerInfo, ContainerRuntime } from '../docker/runtime.js'
import { hasRollbackTarget } from '../engine/failure-cause.js'
import { LABEL } from '../labels.js'
import { parseInstanceName } from '../plan/naming.js'
import type { LockHolder } from '../registry/lock.js'
import type { CurrentRecord, RevisionRecord } from '../registry/records.js'
import type { HealthSpec } from '../spec/types.js'
import { heldRevision } from '../engine/held-canary.js'
import { departedDrift, type DepartedHost } from './status-hosts.js'

export type Health = 'healthy' | 'unhealthy' | 'unknown'

export interface ProbeResult {
  ok: boolean
  detail: string
}

export interface InstanceStatus extends Weights {
  name: string
  /** Short (12 character) container id; undefined when only the key exists. */
  container?: string
  /** ip:port from the key when registered, else from the published port. */
  address?: string
  /** The Docker host it runs on. */
  host?: string
  /** A worker process's instance (never registered); absent: web. */
  process?: string
  revision?: number
  /** Docker state (running, exited, ...) or "missing" when there is no container. */
  state: string
  registered: boolean
  health: Health
  healthDetail: string
  uptimeSeconds?: number
  /** How often Docker restarted the container (its restart policy after a crash or an engine restart). */
  restarts?: number
  /** The kernel killed its process for passing its memory limit (its last exit, even if restarted since). */
  oomKilled?: boolean
}

export type DriftKind =
  | 'key-without-container'
  | 'container-without-key'
  | 'stopped-container'
  | 'old-revision'
  | 'unhealthy'
  | 'address-mismatch'
  | 'replica-count'
  | 'rollout-in-progress'
  | 'gateway-stuck'
  | 'host-unreachable'
  | 'crash-loop'
  | 'canary-held'
  | 'oom-killed'
  | 'host-left'

export interface Drift {
  kind: DriftKind
  instance?: string
  message: string
}

export interface AppStatus {
  app: string
  revision: number
  image: string
  imageId: string
  /** The registry digest the current revision runs, when its image came from a registry. */
  digest?: string
  prefix: string
  desired: number
  /** Instances of the current revision that are running, registered and pass their health check. */
  healthy: number
  /** Keys in etcd for this app. */
  registered: number
  running: number
  scaled?: CurrentRecord['scaled']
  /** Workers, by process: desired instances and those of the current revision running and healthy (web's are desired/healthy above). */
  processes?: Record<string, { desired: number; healthy: number }>
  lock?: LockHolder & { gone?: { leaseSec?: number } }
  /** A rollout held after its canary (update.canary.pause): the waiting revision and its canary instances. */
  held?: HeldCanary
  /** Blue/green: the colour kept at weight 0 beside the serving one (forrest rollback switches back to it). */
  standby?: Standby
  /** Set (false) when `forrest rollback APP` has no earlier good revision to go to: hints then never offer it. */
  canRollBack?: false
  instances: InstanceStatus[]
  /** Containers labelled for this app that belong to another environment (or `forrest launch`): never touched. */
  foreign: Array<{ name: string; owner: string }>
  /** The gateways live for the app's prefix, with the revision each has applied and any error it reports. */
  gateways: GatewayStatus[]
  drift: Drift[]
  converged: boolean
}

export interface HeldCanary {
  revision: number
  instances: string[]
}

export interface GatewayStatus {
  id: string
  host: string
  revision: number
  error?: string
  /** Instance name → the weight its HAProxy has (read back from HAProxy; absent from a gateway older than weights). */
  weights?: Record<string, number>
}

export interface AppObservation {
  app: string
  current: CurrentRecord
  revisions: RevisionRecord[]
  /** This app's forrest-labelled containers (running or not). */
  containers: ContainerInfo[]
  /** Keys under the app's prefix named like its instances: name → ip:port (may include other apps' keys). */
  keys: Map<string, string>
  lock?: LockHolder & { gone?: { leaseSec?: number } }
  foreign?: ContainerInfo[]
  /** Names forrest has instance records of (a key with no container is this app's only then). */
  recorded?: ReadonlySet<string>
  gateways?: GatewayStatus[]
  /** Instance name → the weight forrest recorded for it (/forrest/weights/<prefix>/<name>); read when no gateway reports one. */
  recordedWeights?: ReadonlyMap<string, number>
  /** Container name → the host it runs on. */
  hostOf?: ReadonlyMap<string, string>
  /** Hosts of the app that did not answer: nothing on them could be seen. */
  hostsDown?: Array<{ name: string; error: string }>
  /** The address a host is announced at (for a container that has no key). */
  addressOf?: (host?: string) => string
  /** Container name → its host's engine (for inspect). */
  runtimeOf?: ReadonlyMap<string, ContainerRuntime>
  /** Hosts no longer in the app's list that its records still place instances on (status-hosts.ts). */
  departed?: DepartedHost[]
}

/** The keys that belong to this app: its containers' names, names it has records of, or (older records) names its planner makes. */
export function ownKeys(app: string, containers: ContainerInfo[], keys: Map<string, string>, recorded?: ReadonlySet<string>): Map<string, string> {
  const names = new Set(containers.map((c) => c.name))
  return new Map([...keys].filter(([name]) => names.has(name) || (recorded ? recorded.has(name) : parseInstanceName(app, name))))
}

export interface ProbeTarget {
  name: string
  address: string
  health: HealthSpec
}

const revisionOf = (c: ContainerInfo | undefined, name: string, app: string): number | undefined => {
  const label = c?.labels[LABEL.revision]
  return label !== undefined ? Number(label) : parseInstanceName(app, name)?.revision
}

/**
 * What to probe over HTTP, once each: every registered address (what the load balancer uses),
 * and for a running unregistered container its published port on probeHost.
 */
export function probeTargets(o: AppObservation, probeHost: string | ((host?: string) => string)): ProbeTarget[] {
  const probeHostFor = typeof probeHost === 'string' ? () => probeHost : probeHost
  const keys = ownKeys(o.app, o.containers, o.keys, o.recorded)
  const byName = new Map(o.containers.map((c) => [c.name, c]))
  const healthOf = (rev: number | undefined) => (o.revisions.find((r) => r.revision === rev) ?? o.revisions.find((r) => r.revision === o.current.revision))?.spec.health
  const out: ProbeTarget[] = []
  for (const name of new Set([...byName.keys(), ...keys.keys()])) {
    const c = byName.get(name)
    const health = healthOf(revisionOf(c, name, o.app))
    if (health?.type !== 'http') continue
    const address = keys.get(name) ?? (c?.running && c.hostPort ? `${probeHostFor(o.hostOf?.get(name))}:${c.hostPort}` : undefined)
    if (address) out.push({ name, address, health })
  }
  return out
}

export function classifyApp(o: AppObservation, probes: Map<string, ProbeResult>, now: number): AppStatus {
  const { app, current } = o
  const currentRec = o.revisions.find((r) => r.revision === current.revision)
  const keys = ownKeys(app, o.containers, o.keys, o.recorded)
  const byName = new Map(o.containers.map((c) => [c.name, c]))
  const names = [...new Set([...byName.keys(), ...keys.keys()])].sort()
  const drift: Drift[] = []
  const held = heldRevision(o.revisions, current.revision)
  const instances = names.map((name): InstanceStatus => {
    const c = byName.get(name)
    const revision = revisionOf(c, name, app)
    const registered = keys.has(name)
    const process = c?.labels[LABEL.process]
    const spec = (o.revisions.find((r) => r.revision === revision) ?? currentRec)?.spec
    const healthType = (process ? spec?.processes?.[process]?.health.type : spec?.health.type) ?? 'none'
    const [health, healthDetail] = healthFor(healthType, c, probes.get(name), process !== undefined)
    const inst: InstanceStatus = {
      name,
      container: c?.id.slice(0, 12),
      address: keys.get(name) ?? (c?.hostPort ? `${o.addressOf ? o.addressOf(o.hostOf?.get(name)) : (currentRec?.spec.announce.address ?? '')}:${c.hostPort}` : undefined),
      ...(o.hostOf?.get(name) ? { host: o.hostOf.get(name) } : {}),
      ...(process ? { process } : {}),
      revision,
      state: c?.state ?? 'missing',
      registered,
      health,
      healthDetail,
      uptimeSeconds: c?.running ? Math.max(0, Math.round((now - (c.startedAt ?? c.createdAt).getTime()) / 1000)) : undefined,
      ...(c?.restartCount !== undefined ? { restarts: c.restartCount } : {}),
      ...(c?.oomKilled ? { oomKilled: true } : {}),
      ...weightOrRecorded(name, o.gateways ?? [], o.recordedWeights),
    }
    drift.push(...driftOf(inst, c, keys.get(name), current.revision, held?.revision))
    return inst
  })
  const heldInstances = held ? instances.filter((i) => i.revision === held.revision).map((i) => i.name) : []
  if (held) {
    const n = heldInstances.length
    drift.push({
      kind: 'canary-held',
      message: `revision ${held.revision} is held after its canary (update.canary.pause): ${n} canary instance${n === 1 ? '' : 's'} of it serve${n === 1 ? 's' : ''} beside revision ${current.revision}; continue with forrest promote ${app}, or retire the canary with forrest abort ${app}`,
    })
  }

  const healthy = instances.filter((i) => i.revision === current.revision && i.registered && i.state === 'running' && i.health === 'healthy').length
  if (healthy !== current.replicas) {
    drift.push({ kind: 'replica-count', message: `${healthy} of ${current.replicas} desired instances of revision ${current.revision} are healthy and registered` })
  }
  const processes = workerStatus(current, currentRec, instances)
  for (const [p, w] of Object.entries(processes ?? {})) {
    if (w.healthy !== w.desired) drift.push({ kind: 'replica-count', message: `${p}: ${w.healthy} of ${w.desired} desired instances of revision ${current.revision} are running and healthy` })
  }
  for (const d of o.departed ?? []) drift.push(departedDrift(app, d))
  for (const h of o.hostsDown ?? []) drift.push({ kind: 'host-unreachable', message: `host ${h.name} did not answer, so its instances could not be checked: ${h.error}` })
  for (const g of o.gateways ?? []) {
    if (g.error) drift.push({ kind: 'gateway-stuck', message: `gateway ${g.id} on ${g.host} cannot apply changes (applied up to revision ${g.revision}): ${g.error}` })
  }
  if (o.lock) {
    const { gone } = o.lock
    const left = gone ? `; that process is no longer running, its etcd lease frees the lock ${gone.leaseSec === undefined ? 'within seconds' : `in ${gone.leaseSec}s`}` : ''
    drift.push({ kind: 'rollout-in-progress', message: `a rollout is in progress: ${o.lock.command} by ${o.lock.actor} on ${o.lock.host} (pid ${o.lock.pid}) since ${o.lock.since}${left}` })
  }
  return {
    app,
    revision: current.revision,
    image: currentRec?.spec.image ?? '?',
    imageId: currentRec?.imageId ?? '?',
    ...(currentRec?.digest ? { digest: currentRec.digest } : {}),
    prefix: currentRec?.spec.announce.prefix ?? '?',
    desired: current.replicas,
    healthy,
    registered: keys.size,
    running: o.containers.filter((c) => c.running).length,
    ...(current.scaled ? { scaled: current.scaled } : {}),
    ...(processes ? { processes } : {}),
    ...(o.lock ? { lock: o.lock } : {}),
    ...(held ? { held: { revision: held.revision, instances: heldInstances } } : {}),
    ...standbyOf(instances, current.revision, current.standby),
    ...(currentRec && !hasRollbackTarget(o.revisions, currentRec) ? { canRollBack: false as const } : {}),
    instances,
    foreign: (o.foreign ?? []).map((c) => ({ name: c.name, owner: c.labels[LABEL.kind] === 'launch' ? `${c.labels[LABEL.owner] ?? '?'} (forrest launch)` : (c.labels[LABEL.owner] ?? 'unknown') })),
    gateways: o.gateways ?? [],
    drift,
    converged: drift.length === 0,
  }
}

/** Each worker process of the current revision: desired (forrest scale's count, else the revision's) and healthy. */
function workerStatus(current: CurrentRecord, currentRec: RevisionRecord | undefined, instances: InstanceStatus[]): AppStatus['processes'] {
  const workers = currentRec?.spec.processes
  if (!workers) return undefined
  return Object.fromEntries(
    Object.entries(workers).map(([p, w]) => [
      p,
      { desired: current.processes?.[p] ?? w.replicas, healthy: instances.filter((i) => i.process === p && i.revision === current.revision && i.state === 'running' && i.health === 'healthy').length },
    ]),
  )
}

function healthFor(type: HealthSpec['type'], c: ContainerInfo | undefined, probe: ProbeResult | undefined, worker = false): [Health, string] {
  // A container that is not running is never healthy, whatever its address answers (another process may hold the port).
  if (type === 'http' && c && !c.running) return ['unhealthy', c.state]
  if (type === 'http') return probe ? [probe.ok ? 'healthy' : 'unhealthy', probe.detail] : !c ? ['unhealthy', 'not running'] : ['unknown', 'not probed']
  if (!c?.running) return ['unhealthy', c ? c.state : 'no container']
  if (type === 'docker') return [c.health === 'healthy' ? 'healthy' : c.health ? 'unhealthy' : 'unknown', `docker health ${c.health ?? 'none'}`]
  // A worker's health.command is run when it starts; status reads only, so a running worker counts.
  if (type === 'command') return ['healthy', 'running, its health command passed when it started']
  // A worker without a command or HEALTHCHECK is judged by health.running (its type reads 'none').
  return ['healthy', worker ? 'running, passed health.running when it started' : 'running, no health check (health.type: none)']
}

function driftOf(i: InstanceStatus, c: ContainerInfo | undefined, key: string | undefined, currentRevision: number, heldRevision?: number): Drift[] {
  const out: Drift[] = []
  const d = (kind: DriftKind, message: string) => out.push({ kind, instance: i.name, message: `${i.name}: ${message}` })
  if (!c) {
    d('key-without-container', `registered as ${key} but has no container: the load balancer sends traffic nowhere`)
    return out
  }
  // Docker restarts it again and again: HAProxy's check keeps it out, but it does not serve.
  if (c.state === 'restarting' || ((i.restarts ?? 0) >= 2 && (i.uptimeSeconds ?? 0) < 60)) d('crash-loop', `crash-looping: restarted ${i.restarts ?? '?'} times, ${c.state === 'restarting' ? 'restarting now' : c.running ? `up ${i.uptimeSeconds}s` : `now ${c.state}`}`)
  if (c.oomKilled) d('oom-killed', `OOM-killed: its process passed the memory limit (container.resources.memory) and the kernel killed it${i.restarts ? `; restarted ${i.restarts} time${i.restarts === 1 ? '' : 's'}` : ''}. Raise the limit or find the leak`)
  if (!c.running) d('stopped-container', `container ${i.container} is ${c.state}${i.registered ? ' but still registered' : ''}`)
  // A worker is never registered: that is how it should be.
  else if (!i.registered && !i.process) d('container-without-key', `container ${i.container} runs but has no key in etcd (gets no traffic)`)
  // A held canary's instances are where they should be: the canary-held line covers them.
  // Blue/green's kept colour (weight 0: checked, no traffic) is where it should be too: the standby line covers it.
  const standing = effectiveWeight(i) === 0 && c.running && i.registered
  if (i.revision !== currentRevision && !(i.revision === heldRevision && c.running && i.registered) && !standing) d('old-revision', `runs revision ${i.revision ?? '?'}, the current revision is ${currentRevision}`)
  if (c.running && i.health === 'unhealthy') d('unhealthy', `health check failed (${i.healthDetail})`)
  if (key && c.running && c.hostPort && !key.endsWith(`:${c.hostPort}`)) d('address-mismatch', `key says ${key} but the container is published on port ${c.hostPort}`)
  return out
}
