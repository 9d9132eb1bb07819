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
  /**
   * A fixed host port (kept across restarts, so the registered address stays right); absent:
   * Docker picks one, which a restart would change.
   */
  hostPort?: number
  /** unless-stopped: crashes and engine restarts bring it back; default no. */
  restart?: 'no' | 'unless-stopped'
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
  /** Host ports published by any container on this engine (forrest's or not). */
  publishedPorts(): Promise<Set<number>>
  /** SIGTERM, wait up to graceSeconds, then SIGKILL. Already stopped is success. */
  stop(id: string, graceSeconds: number): Promise<void>
  /** Force-removes. Already gone is success. */
  remove(id: string): Promise<void>
  logs(id: string, tail: number): Promise<string>
}
