import type { EtcdClient } from '../registry/client.js'
import type { ServerVerdict } from '../registry/gateway-acks.js'
import type { PrefixState } from '../registry/prefix-watch.js'
import type { HaproxyRuntime, HaproxyServer } from './haproxy-runtime.js'

/** What the gateway reports as it goes (the `forrest gateway` command prints them). */
export type GatewayEvent =
  | { type: 'started'; id: string; socket: string; prefix: string; backend: string; haproxyPid: number }
  | { type: 'added'; name: string; address: string }
  /** In rotation; msSinceAdded: from `add server` until the gateway saw HAProxy's check pass. */
  | { type: 'up'; name: string; address: string; msSinceAdded?: number }
  | { type: 'check-failed'; name: string; address: string }
  /** A live server's weight changed to the one its rollout asked for. */
  | { type: 'weight'; name: string; weight: number; from: number }
  | { type: 'draining'; name: string; address: string }
  | { type: 'drained'; name: string; address: string; forced: boolean; sessions: number }
  | { type: 'applied'; revision: number }
  | { type: 'haproxy-restarted'; pid: number }
  | { type: 'skipped'; name: string; reason: string }
  | { type: 'warning'; message: string }

export interface GatewayOptions {
  client: EtcdClient
  /** For error messages only. */
  etcdHosts?: string[]
  socketPath: string
  /**
   * haproxy.cfg (or any file HAProxy loads) with a marker block in the backend: the gateway keeps
   * the live servers there, so a reload starts with them (see servers-file.ts).
   */
  serversFile?: string
  /** Tests only: a runtime client wrapping the socket (e.g. to inject a fault). */
  runtime?: HaproxyRuntime
  backend?: string
  prefix: string
  id?: string
  /** A live server's HAProxy check period (check-params.ts); default DEFAULT_CHECK_INTERVAL_MS. */
  checkIntervalMs?: number
  liveWeight?: number
  drainTimeoutMs?: number
  /** Full etcd re-read period (safety net behind the watch). */
  resyncMs?: number
  /** HAProxy pass period when settled: how fast a reload (empty backend) is noticed. */
  idlePollMs?: number
  /** Pass period while servers are gated or draining (how fast a verdict or a drain is acked). */
  pollMs?: number
  ackTtlSec?: number
  /** Minimum time between two refreshes of the published traffic counters (default 1s). */
  countersEveryMs?: number
  /** forrest's records root in etcd (config.recordsRoot); acks go under <root>/gateways/. */
  recordsRoot?: string
  onEvent?: (event: GatewayEvent) => void
  /** Prometheus metrics to keep (metrics.ts); the --metrics listener serves them. */
  metrics?: GatewayMetricsHooks
}

/** One sync pass, as the metrics see it. */
export interface PassObservation {
  backend: string
  actual: readonly HaproxyServer[]
  draining: readonly string[]
  gating: readonly string[]
  verdicts: Record<string, ServerVerdict>
}

/** What the gateway tells its metrics (implemented by metrics.ts's GatewayMetrics). */
export interface GatewayMetricsHooks {
  instrument(runtime: HaproxyRuntime): void
  event(e: GatewayEvent): void
  desired(state: PrefixState): void
  etcdError(): void
  rewatch(): void
  passFailed(seconds: number): void
  pass(seconds: number, ok: boolean, o: PassObservation): void
  published(revision: number): void
  synced(at: number): void
}

/** What readiness is judged on (service-http.ts). */
export interface GatewayStatus {
  /** The etcd lease of the acknowledgement key is granted and renewed. */
  leaseHeld: boolean
  /** Date.now() of the last pass that applied HAProxy's state with the lease held. */
  lastSyncAt?: number
}

export interface GatewayHandle {
  id: string
  /** Last revision published as applied (0 before the first settled pass). */
  appliedRevision(): number
  status(): GatewayStatus
  stop(): Promise<void>
}

export type Emit = (event: GatewayEvent) => void

/** What the parts of a pass share with the loop (startGateway keeps them across passes). */
export interface GatewayState {
  refused: Map<string, string>
  specFailingSince: Map<string, number>
  drainStartedAt: Map<string, number>
  addedAt: Map<string, number>
  failedReported: Set<string>
  skippedReported: Set<string>
}
