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
}

export interface ImageInfo {
  id: string
  exposedPorts: number[]
  hasHealthcheck: boolean
}

export interface RunOptions {
  /** Container name; Docker picks one (e.g. sharp_mccarthy) when absent. */
  name?: string
  image: string
  containerPort: number
  bindIp: string
  env?: Record<string, string>
  command?: string[]
  labels: Record<string, string>
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
  inspectImage(ref: string): Promise<ImageInfo>
  /** Creates and starts the container; on a failed start the container is removed again. */
  run(opts: RunOptions): Promise<ContainerInfo>
  inspect(nameOrId: string): Promise<ContainerInfo | undefined>
  /** Containers carrying all the given labels (running or not). */
  list(labels: Record<string, string>): Promise<ContainerInfo[]>
  /** SIGTERM, wait up to graceSeconds, then SIGKILL. Already stopped is success. */
  stop(id: string, graceSeconds: number): Promise<void>
  /** Force-removes. Already gone is success. */
  remove(id: string): Promise<void>
  logs(id: string, tail: number): Promise<string>
  /** The container's stdout and stderr, line by line with Docker's timestamps. A container that is gone has no lines. */
  logLines(id: string, opts: LogOptions): AsyncIterable<LogLine>
}
