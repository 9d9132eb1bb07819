/**
 * DeploymentSpec: a validated deployment YAML with defaults applied. Durations are
 * milliseconds, env and label values strings. Fields that depend on the environment or the
 * image (port, announce.prefix, announce.address) stay undefined here and are resolved later.
 */
import type { ContainerSettings } from './container.js'
import type { DeploymentSpecOutput } from './schema.js'

export type { ContainerSettings } from './container.js'

/** command: a worker's health.command, run inside the container (exit 0 = healthy). */
export type HealthType = 'http' | 'docker' | 'none' | 'command'

export interface HealthSpec {
  type: HealthType
  /** HTTP path probed (type http). */
  path: string
  /** Expected HTTP status (type http). */
  status: number
  interval: number
  timeout: number
  /** Consecutive successful probes needed. */
  successes: number
  /** Per instance: not healthy by then means failed. */
  deadline: number
  /** Type command, a worker's: run inside the container, like Compose's healthcheck test; exit 0 is a passing probe. */
  command?: string[]
  /** Type none, a worker's: healthy once the container has run this long (ms) without exiting or a restart. */
  running?: number
}

/** A worker process (processes: in the file, web excepted): the app's image, env and revision, its own command, replicas and strategy. */
export interface ProcessSpec {
  command?: string[]
  replicas: number
  /** docker (the image HEALTHCHECK) or none (running for `running`): a worker is never probed over HTTP. */
  health: HealthSpec
  /** Its own update, or the app's; stopGracePeriod is the process's. */
  update: UpdateSpec
  placement?: { labels: Record<string, string> }
  /** The app's container settings with the process's merged over them (its stopSignal included). */
  container?: ContainerSettings
}

export interface UpdateSpec {
  order: 'start-first' | 'stop-first'
  /** Count or "N%" of replicas, as written; resolveStrategy() turns it into a count. */
  maxSurge: number | string
  maxUnavailable: number | string
  soak: number
  drain: number
  stopGracePeriod: number
  onFailure: 'rollback' | 'pause'
  progressDeadline: number
  canary?: CanarySpec
  /** rolling (waves) or blue-green (the whole new revision at weight 0, then one switch). */
  strategy?: 'rolling' | 'blue-green'
  blueGreen?: { pause: boolean }
}

export interface CanarySpec {
  /** Count or "N%" of replicas, as written; resolveCanaryCount() turns it into a count. */
  count: number | string
  window: number
  minRequests: number
  maxErrorRateIncrease: number
  maxLatencyFactor: number
  pause: boolean
  /** "5%": the canary's share of requests, through weights (as written; plan/weights.ts parses it). */
  traffic?: string
  /** Shares in order, an analysis at each ("5%", "25%", ...). */
  steps?: string[]
}

export interface ReleaseSpec {
  command: string[]
  /** ms */
  timeout: number
}

export interface HooksSpec {
  preDeploy?: string[]
  postDeploy?: string[]
  onFailure?: string[]
  /** ms, each hook */
  timeout: number
}

export interface GatewaysSpec {
  /** Live gateways needed before a rollout starts. */
  required: number
  /** How long a withdrawal waits for every gateway's acknowledgement. */
  timeout: number
}

/** A secret env value: where to read it when the rollout runs (never the value itself). */
export type SecretRef = { fromEnv: string } | { fromFile: string }
export type EnvValue = string | SecretRef

export interface HostSpec {
  name: string
  /** unix:///path, tcp://host:port (mutual TLS) or ssh://user@host[:port]. */
  docker: string
  /** Where the load balancer reaches this host: instances are announced and probed here. */
  address: string
  labels: Record<string, string>
  tls?: { certPath?: string; verify: boolean }
  ssh?: { identityFile?: string; knownHosts?: string }
}

/** When hosts pull the image (see schema.ts). */
export type PullPolicy = 'missing' | 'always' | 'never'

export interface DeploymentSpec {
  name: string
  image: string
  pull: PullPolicy
  replicas: number
  /** Container port; undefined = the image's single EXPOSEd port. */
  port?: number
  command?: string[]
  env: Record<string, EnvValue>
  /** A KEY=VALUE file whose variables are all secrets (path absolute once resolved for a rollout). */
  envFile?: string
  labels: Record<string, string>
  announce: {
    /** etcd key prefix; undefined = $ETCD_PREFIX, else app/servers. */
    prefix?: string
    /** IP to announce; undefined = $FORREST_IP. */
    address?: string
  }
  health: HealthSpec
  /** Run once per new revision before any of its instances starts (migrations). */
  release?: ReleaseSpec
  update: UpdateSpec
  /** Local commands `forrest deploy` runs before, after success, after failure. */
  hooks?: HooksSpec
  gateways: GatewaysSpec
  /** Host ports instances are published on (fixed per instance, so restarts keep the address). */
  hostPorts: { from: number; to: number }
  /** Absent: the local engine ($DOCKER_HOST) at the announce address. */
  hosts?: HostSpec[]
  placement?: { labels: Record<string, string> }
  /** Apps `forrest deploy DIR` deploys before this one (their names); not part of the revision. */
  dependsOn?: string[]
  /** Container settings (networks, volumes, limits, hardening, logging, process); absent: Docker's defaults plus forrest's (init, rotating logs). */
  container?: ContainerSettings
  /**
   * Workers (processes without a port), by name; absent: the app is one process, web. The file's
   * processes.web is lifted to the top-level fields above (spec/processes.ts).
   */
  processes?: Record<string, ProcessSpec>
}

// The schema's output must stay assignable to the hand-written type above (compile-time check).
type Assert<T extends true> = T
export type _SchemaMatchesType = Assert<DeploymentSpecOutput extends DeploymentSpec ? true : false>
