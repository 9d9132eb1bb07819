import type { ContainerSettings } from '../spec/types.js'
import type { LogLine } from './log-lines.js'

export type { LogLine } from './log-lines.js'

/** forrest's view of a container engine; DockerRuntime is the implementation over dockerode. */
export interface ContainerInfo {
  id: string
  name: string
  image: string
  imageId: string
  labels: Record<string, string>
  running: boolean
  state: string
  /** Host port the container port is published on, if any. */
  hostPort?: number
  createdAt: Date
  startedAt?: Date
  /** Docker HEALTHCHECK status when the image has one: starting | healthy | unhealthy. */
  health?: string
  /** How often Docker restarted it (inspect only; list does not say). */
  restartCount?: number
  /** The kernel killed it for passing its memory limit (inspect only). */
  oomKilled?: boolean
  /** The exit code of its last run while it is exited or restarting (inspect only; reset once it runs again). */
  exitCode?: number
}

export interface ImageInfo {
  id: string
  exposedPorts: number[]
  hasHealthcheck: boolean
  /** `name@sha256:...` for each registry the image was pulled from or pushed to (none: built or loaded here). */
  repoDigests: string[]
}

/** Credentials for one registry, as the Engine API takes them (X-Registry-Auth). Never logged. */
export interface RegistryAuth {
  /** The registry host[:port] (for Docker Hub: https://index.docker.io/v1/). */
  serveraddress: string
  username?: string
  password?: string
  /** An identity token (from `docker login` to some registries, or a credential helper). */
  identitytoken?: string
}

/** Where a pull stands, summed over the image's layers. */
export interface PullProgress {
  layers: number
  /** Layers in place: pulled now, or already on the engine. */
  layersDone: number
  /** Bytes downloaded, and the total over the layers whose size is known yet. */
  bytes: number
  bytesTotal: number
}

/** What every forrest container is created from: identity, process and the container settings (docker/create-options.ts maps them). */
export interface ContainerBase {
  /** Container name; Docker picks one (e.g. sharp_mccarthy) when absent. */
  name?: string
  image: string
  env?: Record<string, string>
  command?: string[]
  labels: Record<string, string>
  /** The spec's container settings; a task (release command, `forrest run`) gets them too, never a port or restart. */
  settings?: ContainerSettings
}

export interface RunOptions extends ContainerBase {
  /** The port published on bindIp; absent (a worker process): nothing is published. */
  containerPort?: number
  bindIp?: string
  /**
   * A fixed host port (kept across restarts, so the registered address stays right); absent:
   * Docker picks one, which a restart would change.
   */
  hostPort?: number
  /** unless-stopped: crashes and engine restarts bring it back; default no. */
  restart?: 'no' | 'unless-stopped'
  /** How long a stop waits between the stop signal and SIGKILL (recorded on the container too). */
  stopGraceSeconds?: number
}

/** A container run to completion (a release command, `forrest run`): no port, never restarted. */
export interface TaskOptions extends ContainerBase {
  /** Stopped (SIGTERM, then SIGKILL after 10 s) when this passes; the result says timedOut. */
  timeoutMs: number
  /** Each line of its stdout/stderr, as it comes. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  signal?: AbortSignal
}

export interface ExecResult {
  exitCode: number
  output: string
}

export interface TaskResult {
  id: string
  exitCode: number
  timedOut: boolean
}

/** A container run with the caller's stdio attached (`forrest run`): no port, never restarted, removed after. */
export interface AttachedTaskOptions extends ContainerBase {
  command: string[]
  /** A terminal: one raw stream (stdout and stderr together), sized to `size`. */
  tty: boolean
  size?: { rows: number; columns: number }
  /** Piped into the container's stdin (closed when it ends); absent: no stdin. */
  stdin?: NodeJS.ReadableStream
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  /** Stops the container (SIGTERM, then SIGKILL after 10 s). */
  signal?: AbortSignal
}

export interface LogOptions {
  /** Keep the stream open for new lines until the container stops or `signal` aborts. */
  follow?: boolean
  /** Only lines at or after / at or before this time. */
  since?: Date
  until?: Date
  /** Only the last N lines (before following); all when absent. */
  tail?: number
  signal?: AbortSignal
}

export interface ContainerRuntime {
  ping(): Promise<void>
  /** The engine's own ID (docker info), stable across restarts: which host a container is on. */
  engineId(): Promise<string>
  /** The host's memory as the engine reports it (docker info MemTotal, bytes): blue/green's capacity check. */
  memoryBytes?(): Promise<number>
  inspectImage(ref: string): Promise<ImageInfo>
  /** The image, or undefined when this engine does not have it. */
  findImage(ref: string): Promise<ImageInfo | undefined>
  /**
   * The digest a registry serves for `ref` now, asked through this engine (its registry trust
   * and proxy settings apply). Throws REGISTRY_AUTH_FAILED, IMAGE_NOT_FOUND, REGISTRY_UNREACHABLE
   * or REGISTRY_TLS.
   */
  resolveDigest(ref: string, auth?: RegistryAuth): Promise<string>
  /** Pulls `ref` (name:tag or name@digest) onto this engine; the same errors as resolveDigest. */
  pull(ref: string, auth: RegistryAuth | undefined, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void>
  /** Creates and starts the container; on a failed start the container is removed again. */
  run(opts: RunOptions): Promise<ContainerInfo>
  /**
   * Only creates the container (and joins its networks), without starting it: a created
   * container takes no CPU, memory or traffic. Returns its id; nothing is left on failure.
   */
  create(opts: RunOptions): Promise<string>
  /** Starts a created container and inspects it; on a failed start it is removed again (the errors of run). */
  start(id: string, opts: Pick<RunOptions, 'name' | 'bindIp' | 'hostPort'>): Promise<ContainerInfo>
  /** Creates, starts and waits for a container to exit, streaming its output; it is removed afterwards whatever happened. */
  runTask(opts: TaskOptions): Promise<TaskResult>
  /** Like runTask, with the caller's stdin/stdout/stderr attached; resolves with the exit code. */
  runAttached(opts: AttachedTaskOptions): Promise<TaskResult>
  inspect(nameOrId: string): Promise<ContainerInfo | undefined>
  /**
   * Problems that would stop the settings' containers on this engine, checked before anything
   * changes: a user network that does not exist, a bind mount's host path that does not.
   * Empty: none.
   */
  checkSettings(image: string, settings: ContainerSettings): Promise<string[]>
  /** Containers carrying all the given labels (running or not). */
  list(labels: Record<string, string>): Promise<ContainerInfo[]>
  /** Host ports published by any container on this engine (forrest's or not). */
  publishedPorts(): Promise<Set<number>>
  /** SIGTERM, wait up to graceSeconds, then SIGKILL. Already stopped is success. */
  stop(id: string, graceSeconds: number): Promise<void>
  /** Force-removes. Already gone is success. */
  remove(id: string): Promise<void>
  logs(id: string, tail: number): Promise<string>
  /** Runs a command inside the running container (a worker's health.command): exit code and output; past the timeout, exit -1. */
  exec(id: string, command: string[], timeoutMs: number): Promise<ExecResult>
  /** The container's stdout and stderr, line by line with Docker's timestamps. A container that is gone has no lines. */
  logLines(id: string, opts: LogOptions): AsyncIterable<LogLine>
}
