/**
 * The one mapping from forrest's run options and container settings (spec/container.ts) to the
 * Docker Engine's container create options: pure, table-tested in test/unit/create-options.test.ts
 * against the Compose key and `docker run` flag each setting mirrors. Nothing outside docker/
 * knows these option names. What forrest relies on (name, labels, published port, restart
 * policy) is set here last and cannot be overridden by a setting.
 */
import type Docker from 'dockerode'
import { parseBytes } from '../spec/bytes.js'
import { DEFAULT_LOGGING } from '../spec/container.js'
import type { ContainerBase, RunOptions } from './runtime.js'

/** A network joined after create: Engine API 1.41 takes one network at create, the others by connect. */
export interface NetworkJoin {
  network: string
  aliases: string[]
}

export interface CreatePlan {
  create: Docker.ContainerCreateOptions
  /** Networks to connect before the container starts. */
  connect: NetworkJoin[]
}

/** An instance: the settings, then its published port, restart policy and stop timeout (forrest's own, not overridable). */
export function createOptions(opts: RunOptions): CreatePlan {
  const { create, connect } = settingsPlan(opts)
  const portKey = `${opts.containerPort}/tcp`
  // A worker process publishes nothing.
  const published = opts.containerPort !== undefined
  return {
    create: {
      ...create,
      // A plain `docker stop` by hand waits as long as forrest does.
      ...(opts.stopGraceSeconds !== undefined ? { StopTimeout: Math.round(opts.stopGraceSeconds) } : {}),
      ...(published ? { ExposedPorts: { [portKey]: {} } } : {}),
      HostConfig: {
        ...create.HostConfig,
        // forrest's own: cannot be overridden.
        ...(published ? { PortBindings: { [portKey]: [{ HostIp: opts.bindIp, HostPort: opts.hostPort ? String(opts.hostPort) : '' }] } } : {}),
        RestartPolicy: { Name: opts.restart ?? 'no' },
      },
    },
    connect,
  }
}

/** A task's attach flags (forrest run). */
export interface TaskIo {
  Tty?: boolean
  OpenStdin?: boolean
  StdinOnce?: boolean
  AttachStdin?: boolean
  AttachStdout?: boolean
  AttachStderr?: boolean
}

/**
 * A task (the release command, forrest run): the same settings as the revision's instances (its
 * networks, volumes, limits, user...), but never a published port or a restart, and always an
 * init process as PID 1 (a timeout's or Ctrl-C's SIGTERM reaches the command).
 */
export function taskCreateOptions(opts: ContainerBase & { io?: TaskIo; consoleSize?: { rows: number; columns: number } }): CreatePlan {
  const { create, connect } = settingsPlan(opts)
  return {
    create: {
      ...create,
      ...opts.io,
      HostConfig: {
        ...create.HostConfig,
        Init: true,
        RestartPolicy: { Name: 'no' },
        // The terminal's size from the start (a resize after start races a command that asks at once).
        ...(opts.consoleSize ? { ConsoleSize: [opts.consoleSize.rows, opts.consoleSize.columns] } : {}),
      },
    },
    connect,
  }
}

/** The container settings' part, shared by instances and tasks. */
function settingsPlan(opts: ContainerBase): CreatePlan {
  const s = opts.settings ?? {}
  const networks: NetworkJoin[] = (s.networks ?? []).map((n) => (typeof n === 'string' ? { network: n, aliases: [] } : { network: n.name, aliases: n.aliases }))
  const [first, ...rest] = networks
  const r = s.resources ?? {}
  const memory = r.memory ? parseBytes(r.memory) : undefined
  const logging = s.logging ?? DEFAULT_LOGGING
  const hostConfig: Docker.HostConfig = {
    // An init process as PID 1 forwards signals: busybox httpd as PID 1 ignores SIGTERM.
    Init: s.init ?? true,
    ...(first ? { NetworkMode: first.network } : {}),
    ...(s.volumes?.length ? { Mounts: s.volumes.map(mountOf) } : {}),
    // No swap beyond the limit (Docker's default would allow as much again): the limit is the limit.
    ...(memory !== undefined ? { Memory: memory, MemorySwap: memory } : {}),
    ...(r.memoryReservation ? { MemoryReservation: parseBytes(r.memoryReservation) } : {}),
    ...(r.cpus !== undefined ? { NanoCpus: Math.round(r.cpus * 1e9) } : {}),
    ...(r.pids !== undefined ? { PidsLimit: r.pids } : {}),
    ...(s.readOnly !== undefined ? { ReadonlyRootfs: s.readOnly } : {}),
    ...(s.capAdd?.length ? { CapAdd: s.capAdd } : {}),
    ...(s.capDrop?.length ? { CapDrop: s.capDrop } : {}),
    ...(s.noNewPrivileges ? { SecurityOpt: ['no-new-privileges:true'] } : {}),
    ...(s.ulimits ? { Ulimits: Object.entries(s.ulimits).map(([Name, u]) => (typeof u === 'number' ? { Name, Soft: u, Hard: u } : { Name, Soft: u.soft, Hard: u.hard })) } : {}),
    LogConfig: { Type: logging.driver, Config: { ...logging.options } },
    ...(s.extraHosts ? { ExtraHosts: Object.entries(s.extraHosts).map(([name, ip]) => `${name}:${ip}`) } : {}),
  }
  const create: Docker.ContainerCreateOptions = {
    name: opts.name,
    Image: opts.image,
    Cmd: opts.command,
    ...(s.entrypoint ? { Entrypoint: s.entrypoint } : {}),
    Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(s.user ? { User: s.user } : {}),
    ...(s.workingDir ? { WorkingDir: s.workingDir } : {}),
    ...(s.hostname ? { Hostname: s.hostname } : {}),
    ...(s.stopSignal ? { StopSignal: s.stopSignal } : {}),
    Labels: opts.labels,
    HostConfig: hostConfig,
    ...(first ? { NetworkingConfig: { EndpointsConfig: { [first.network]: first.aliases.length ? { Aliases: first.aliases } : {} } } } : {}),
  }
  return { create, connect: rest }
}

function mountOf(m: NonNullable<NonNullable<RunOptions['settings']>['volumes']>[number]): Docker.MountSettings {
  if (m.type === 'tmpfs') {
    const size = m.size ? parseBytes(m.size) : undefined
    return { Type: 'tmpfs', Source: '', Target: m.target, ...(size ? { TmpfsOptions: { SizeBytes: size, Mode: 0o1777 } } : {}) }
  }
  return { Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.readOnly }
}

/** Binds to check on a host before anything changes (their host path must exist there). */
export function bindSources(settings: RunOptions['settings']): string[] {
  return (settings?.volumes ?? []).flatMap((m) => (m.type === 'bind' ? [m.source] : []))
}

/** The user networks a container joins. */
export function networkNames(settings: RunOptions['settings']): string[] {
  return (settings?.networks ?? []).map((n) => (typeof n === 'string' ? n : n.name))
}
