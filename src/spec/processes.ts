/**
 * Processes (`processes:` in the deployment file): several processes from one image, env and
 * revision, each with its own command, replicas, strategy and stop behaviour. `web` is the one
 * process announced behind the load balancer; the others are workers (no port: never announced,
 * never in etcd's instance prefix, never in HAProxy).
 *
 * The parsed spec keeps meaning what a file without processes means: `liftProcesses` moves the
 * web process's replicas, port, command and health to the top level (where every rollout, status
 * and record already reads them) and leaves only the workers under `processes`. A file whose only
 * process is web is exactly a file without processes. Pure.
 */
import type { z } from 'zod'
import type { ContainerSettings } from './container.js'
import { resolveCount } from './count.js'

// Shapes of the parsed (not yet lifted) file, structurally: types.ts depends on schema.ts, which depends on this.
interface HealthSpec {
  type: 'http' | 'docker' | 'none' | 'command'
  path: string
  status: number
  interval: number
  timeout: number
  successes: number
  deadline: number
  running?: number
  command?: string[]
}
interface UpdateSpec {
  maxSurge: number | string
  maxUnavailable: number | string
  stopGracePeriod: number
  canary?: object
}
interface ProcessSpec<U extends UpdateSpec> {
  command?: string[]
  replicas: number
  health: HealthSpec
  update: U
  placement?: { labels: Record<string, string> }
  container?: ContainerSettings
}

/** The process announced behind the load balancer; its instances keep today's names and carry no process label. */
export const WEB = 'web'
export const PROCESS_NAME_PATTERN = '^[a-z][a-z0-9-]{0,19}$'
/** A name segment like r1 would read as a revision in instance names (app-r1-r2-1). */
const REVISION_LIKE = /(^|-)r\d+(-|$)/

/** The fields a file with processes sets per process: at the top level they are refused. */
export const PER_PROCESS_FIELDS = ['replicas', 'port', 'command', 'health'] as const

export function processNameMessage(input: unknown): string {
  const name = String(input)
  if (/[A-Z]/.test(name) && /^[a-z0-9-]+$/i.test(name)) return `process name "${name}": use lowercase (${name.toLowerCase()})`
  return `process name "${name}": expected lowercase letters, digits and "-", starting with a letter, at most 20 characters (like a Compose service)`
}

interface RawProcess<U extends UpdateSpec = UpdateSpec> {
  replicas: number
  port?: number
  command?: string[]
  health: Omit<HealthSpec, 'type' | 'path' | 'status' | 'command'> & { type?: 'http' | 'docker' | 'none'; path?: string; status?: number; running: number; command?: string[] }
  update?: U
  placement?: { labels: Record<string, string> }
  stopSignal?: string
  stopGracePeriod?: number
  container?: ContainerSettings
}

interface RawApp<U extends UpdateSpec> {
  name: string
  replicas: number
  port?: number
  command?: string[]
  health: HealthSpec
  update: U
  placement?: { labels: Record<string, string> }
  container?: ContainerSettings
  processes?: Record<string, RawProcess<U>>
}

type Ctx = z.core.$RefinementCtx

/** A rollout must be able to progress: maxSurge and maxUnavailable may not both come to 0. */
export function checkBounds(replicas: number, update: Pick<UpdateSpec, 'maxSurge' | 'maxUnavailable'>, path: PropertyKey[], ctx: Ctx): void {
  if (replicas === 0) return
  const surge = resolveCount(update.maxSurge, replicas, 'up')
  const unavailable = resolveCount(update.maxUnavailable, replicas, 'down')
  if (surge === 0 && unavailable === 0) {
    ctx.addIssue({
      code: 'custom',
      path,
      message: `maxSurge and maxUnavailable both resolve to 0 for ${replicas} replica${replicas === 1 ? '' : 's'}, so a rollout could not progress; set maxSurge: 1 or maxUnavailable: 1`,
    })
  }
}

/** Every problem of a processes map, with its path: names, ports, worker health, strategies. */
export function checkProcesses(app: string, processes: Record<string, RawProcess>, appUpdate: UpdateSpec, ctx: Ctx, hostLabels?: Array<Record<string, string>>): void {
  const at = (...path: PropertyKey[]) => ['processes', ...path]
  if (!processes[WEB]) {
    ctx.addIssue({ code: 'custom', path: at(), message: `no web process: name the process that serves behind the load balancer web (processes.web, with its port); an app of workers only is not supported yet` })
  }
  for (const [name, p] of Object.entries(processes)) {
    if (REVISION_LIKE.test(name)) {
      ctx.addIssue({ code: 'custom', path: at(name), message: `process name "${name}" collides with forrest's instance names (${app}-${name}-r1-1 reads as a revision): rename it, e.g. ${name.replace(/r(\d+)/, 'v$1')}` })
    }
    const update = p.update ?? appUpdate
    checkBounds(p.replicas, update, at(name, 'update', 'maxSurge'), ctx)
    const wanted = Object.entries(p.placement?.labels ?? {})
    if (p.placement && !hostLabels) ctx.addIssue({ code: 'custom', path: at(name, 'placement'), message: 'placement needs a hosts list to choose from' })
    else if (wanted.length && hostLabels && !hostLabels.some((l) => wanted.every(([k, v]) => l[k] === v))) {
      ctx.addIssue({ code: 'custom', path: at(name, 'placement', 'labels'), message: `no host carries all these labels, so ${name} could not run` })
    }
    if (name === WEB) {
      if (p.health.command) ctx.addIssue({ code: 'custom', path: at(name, 'health', 'command'), message: 'web is probed over HTTP where the load balancer reaches it; health.command is for workers: remove it' })
      continue
    }
    if (p.health.command && p.health.type !== undefined) {
      ctx.addIssue({ code: 'custom', path: at(name, 'health', 'type'), message: `health.command is its own kind of check: remove health.type (${p.health.type})` })
    }
    if (p.port !== undefined) {
      ctx.addIssue({ code: 'custom', path: at(name, 'port'), message: `only the web process is announced behind the load balancer; a worker has no port: remove it (or name this process web)` })
    }
    const h = p.health
    if (h.path !== undefined || h.status !== undefined || h.type === 'http') {
      const key = h.path !== undefined ? 'path' : h.status !== undefined ? 'status' : 'type'
      ctx.addIssue({ code: 'custom', path: at(name, 'health', key), message: `${name} is a worker (no port): it is never probed over HTTP or announced; remove health.${key} and use health.type: docker (the image HEALTHCHECK) or health.running: 10s` })
    }
    if (p.update?.canary) {
      ctx.addIssue({ code: 'custom', path: at(name, 'update', 'canary'), message: `a canary is judged on traffic through the gateways, and the worker ${name} serves none: remove it` })
    }
  }
}

/** Problems a parsed value cannot show: top-level fields written next to `processes:` (their defaults hide them later). */
export function processInputProblems(raw: object): Array<{ path: PropertyKey[]; message: string }> {
  const r = raw as Record<string, unknown>
  if (r.processes === undefined || r.processes === null || typeof r.processes !== 'object') return []
  return PER_PROCESS_FIELDS.filter((f) => r[f] !== undefined).map((f) => ({
    path: [f],
    message: `with processes, ${f} is set per process: move it under processes.${WEB} (processes.${WEB}.${f}), or under the worker it belongs to`,
  }))
}

const mergeContainer = (app: ContainerSettings | undefined, own: ContainerSettings | undefined, stopSignal: string | undefined): ContainerSettings | undefined => {
  if (!app && !own && !stopSignal) return undefined
  return { ...app, ...own, ...(stopSignal ? { stopSignal } : {}) }
}

const processUpdate = <U extends UpdateSpec>(p: RawProcess<U>, app: U): U => {
  const update = p.update ?? app
  return p.stopGracePeriod === undefined ? update : { ...update, stopGracePeriod: p.stopGracePeriod }
}

/** A worker's health: command (run inside it), docker (the image HEALTHCHECK) or none (running for `running`); never http. */
function workerHealth(h: RawProcess['health']): HealthSpec {
  const { running, type, path: _path, status: _status, command, ...timing } = h
  if (command) return { ...timing, type: 'command', path: '/', status: 200, command }
  return { ...timing, type: type === 'docker' ? 'docker' : 'none', path: '/', status: 200, ...(type === 'docker' ? {} : { running }) }
}

function webHealth(h: RawProcess['health']): HealthSpec {
  const { running: _running, command: _command, type, path, status, ...timing } = h
  return { ...timing, type: type ?? 'http', path: path ?? '/', status: status ?? 200 }
}

/** The web process to the top level, the workers (with the app's settings merged in) under `processes`. */
export function liftProcesses<S extends RawApp<UpdateSpec>>(spec: S): Omit<S, 'processes'> & { processes?: Record<string, ProcessSpec<S['update']>> } {
  type U = S['update']
  const { processes, ...app } = spec
  if (!processes) return app
  const web = processes[WEB]
  const lifted = web
    ? {
        ...app,
        replicas: web.replicas,
        port: web.port,
        command: web.command,
        health: webHealth(web.health),
        update: processUpdate<U>(web as RawProcess<U>, app.update),
        placement: web.placement ?? app.placement,
        container: mergeContainer(app.container, web.container, web.stopSignal),
      }
    : { ...app, replicas: 0 }
  const workers: Record<string, ProcessSpec<U>> = {}
  for (const [name, p] of Object.entries(processes)) {
    if (name === WEB) continue
    const container = mergeContainer(app.container, p.container, p.stopSignal)
    const placement = p.placement ?? app.placement
    workers[name] = {
      replicas: p.replicas,
      ...(p.command ? { command: p.command } : {}),
      health: workerHealth(p.health),
      update: processUpdate<U>(p as RawProcess<U>, app.update),
      ...(placement ? { placement } : {}),
      ...(container ? { container } : {}),
    }
  }
  // Drop undefined keys the lift added, so a web-only file equals the same file without processes.
  for (const key of ['port', 'command', 'placement', 'container'] as const) if (lifted[key as keyof typeof lifted] === undefined) delete (lifted as Record<string, unknown>)[key]
  return Object.keys(workers).length ? { ...lifted, processes: workers } : lifted
}

/** The names of an app's processes, web first (a spec without workers: just web). */
export const processNames = (spec: { processes?: Record<string, unknown> }): string[] => [WEB, ...Object.keys(spec.processes ?? {}).sort()]
