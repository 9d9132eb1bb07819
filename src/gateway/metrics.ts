import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { PrefixState } from '../registry/prefix-watch.js'
import type { ServerVerdict } from '../registry/gateway-acks.js'
import { ADMIN_DRAIN_MASK, ADMIN_MAINT_MASK, HaproxyCommandError, OP_RUNNING, type HaproxyRuntime, type HaproxyServer } from './haproxy-runtime.js'
import type { GatewayEvent, GatewayMetricsHooks, PassObservation } from './types.js'

/*
 * The gateway's Prometheus metrics (prom-client, text exposition 0.0.4). The gateway calls the
 * hooks below as it goes; the service listener (service-http.ts) serves `registry.metrics()`.
 * Names and labels are the README's › Gateway metrics; the Grafana dashboard in examples/grafana
 * is built on them. Label values are bounded: states, verdicts and reason *classes*, never a
 * server name or a free-text reason.
 */

export const SERVER_STATES = ['up', 'down', 'pending', 'draining', 'maintenance'] as const
export type ServerState = (typeof SERVER_STATES)[number]

/** Seconds: a dynamic server typically serves 25-60 ms after its announce; a drain takes up to --drain-timeout. */
const SERVED_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const DRAINED_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
const PASS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/** A verdict's reason as a bounded label value (the free text stays in the ack and the log). */
export function reasonClass(v: ServerVerdict): string {
  if (v.state !== 'down' || !v.reason) return ''
  if (v.reason.startsWith('HAProxy refused')) return 'haproxy_refused'
  if (v.reason.startsWith("HAProxy's check failed")) return 'check_failed'
  if (/health path|health check|answered/.test(v.reason)) return 'health_path_failed'
  return 'bad_key'
}

/** A server's state as the servers gauge counts it (draining/pending come from the pass's plan). */
export function serverState(s: HaproxyServer, draining: ReadonlySet<string>, gating: ReadonlySet<string>): ServerState {
  if (draining.has(s.name) || s.adminState & ADMIN_DRAIN_MASK) return 'draining'
  if (s.adminState & ADMIN_MAINT_MASK) return 'maintenance'
  if (gating.has(s.name)) return 'pending'
  if (s.weight > 0 && s.opState === OP_RUNNING) return 'up'
  return 'down'
}

export class GatewayMetrics implements GatewayMetricsHooks {
  readonly registry = new Registry()
  private readonly servers = new Gauge({ name: 'forrest_gateway_servers', help: 'Servers in the HAProxy backend by state (up, down, pending, draining, maintenance)', labelNames: ['backend', 'state'], registers: [this.registry] })
  private readonly verdictGauge = new Gauge({ name: 'forrest_gateway_server_verdicts', help: "Desired servers by HAProxy's current verdict (up, down, pending) and reason class", labelNames: ['verdict', 'reason'], registers: [this.registry] })
  private readonly verdictChanges = new Counter({ name: 'forrest_gateway_verdicts_total', help: 'Verdicts reached on servers (a server counts again each time its verdict changes)', labelNames: ['verdict', 'reason'], registers: [this.registry] })
  private readonly served = new Histogram({ name: 'forrest_gateway_announce_to_served_seconds', help: 'From the gateway seeing an instance announced in etcd to HAProxy putting it in rotation', buckets: SERVED_BUCKETS, registers: [this.registry] })
  private readonly drained = new Histogram({ name: 'forrest_gateway_withdraw_to_drained_seconds', help: 'From the gateway seeing an instance withdrawn in etcd to its server deleted from HAProxy (drained)', labelNames: ['forced'], buckets: DRAINED_BUCKETS, registers: [this.registry] })
  private readonly passes = new Counter({ name: 'forrest_gateway_sync_passes_total', help: 'Sync passes (read HAProxy and etcd, apply the difference) by result', labelNames: ['result'], registers: [this.registry] })
  private readonly passSeconds = new Histogram({ name: 'forrest_gateway_sync_duration_seconds', help: 'Duration of one sync pass', buckets: PASS_BUCKETS, registers: [this.registry] })
  private readonly rewatches = new Counter({ name: 'forrest_gateway_watch_recreations_total', help: 'etcd watches canceled by etcd and re-created from a fresh read', registers: [this.registry] })
  private readonly resyncs = new Counter({ name: 'forrest_gateway_resyncs_total', help: 'Full re-reads of the instance prefix from etcd (periodic safety net and after reconnects)', registers: [this.registry] })
  private readonly watchErrors = new Counter({ name: 'forrest_gateway_etcd_errors_total', help: 'Failed etcd reads of the instance prefix (etcd unreachable)', registers: [this.registry] })
  private readonly runtimeErrors = new Counter({ name: 'forrest_gateway_runtime_api_errors_total', help: "HAProxy runtime API errors: socket unreachable, or a command HAProxy refused", labelNames: ['kind'], registers: [this.registry] })
  private readonly acks = new Counter({ name: 'forrest_gateway_acks_published_total', help: 'Acknowledgements written to etcd', registers: [this.registry] })
  private readonly appliedRevision = new Gauge({ name: 'forrest_gateway_applied_revision', help: 'etcd revision last acknowledged as applied to HAProxy', registers: [this.registry] })
  private readonly lastSync = new Gauge({ name: 'forrest_gateway_last_sync_timestamp_seconds', help: 'Unix time of the last successful sync pass (HAProxy applied, lease held)', registers: [this.registry] })
  private readonly restarts = new Counter({ name: 'forrest_gateway_haproxy_restarts_total', help: 'HAProxy restarts or reloads the gateway noticed (servers re-applied)', registers: [this.registry] })

  /** When the watch first showed each desired server, and when each vanished from it. */
  private readonly announcedAt = new Map<string, number>()
  private readonly withdrawnAt = new Map<string, number>()
  private readonly lastVerdict = new Map<string, string>()

  constructor(leaseHeld: () => boolean) {
    new Gauge({
      name: 'forrest_gateway_lease_held',
      help: "1 while the gateway's etcd lease (its acknowledgement key) is held and renewed, else 0",
      registers: [this.registry],
      collect() {
        this.set(leaseHeld() ? 1 : 0)
      },
    })
    this.passes.inc({ result: 'ok' }, 0)
    this.passes.inc({ result: 'failed' }, 0)
    for (const kind of ['unreachable', 'refused']) this.runtimeErrors.inc({ kind }, 0)
    this.drained.zero({ forced: 'false' })
  }

  desired(state: PrefixState): void {
    const now = Date.now()
    if (state.cause === 'resync') this.resyncs.inc()
    for (const name of state.entries.keys()) {
      if (!this.announcedAt.has(name)) this.announcedAt.set(name, now)
      this.withdrawnAt.delete(name)
    }
    for (const name of this.announcedAt.keys()) {
      if (state.entries.has(name)) continue
      this.announcedAt.delete(name)
      this.withdrawnAt.set(name, now)
    }
  }

  event(e: GatewayEvent): void {
    if (e.type === 'up') {
      const t = this.announcedAt.get(e.name)
      if (t !== undefined) this.served.observe((Date.now() - t) / 1000)
    } else if (e.type === 'drained') {
      const t = this.withdrawnAt.get(e.name)
      this.withdrawnAt.delete(e.name)
      if (t !== undefined) this.drained.observe({ forced: String(e.forced) }, (Date.now() - t) / 1000)
    } else if (e.type === 'haproxy-restarted') this.restarts.inc()
  }

  rewatch(): void {
    this.rewatches.inc()
  }

  etcdError(): void {
    this.watchErrors.inc()
  }

  passFailed(seconds: number): void {
    this.passes.inc({ result: 'failed' })
    this.passSeconds.observe(seconds)
  }

  pass(seconds: number, ok: boolean, o: PassObservation): void {
    this.passes.inc({ result: ok ? 'ok' : 'failed' })
    this.passSeconds.observe(seconds)
    const draining = new Set(o.draining)
    const gating = new Set(o.gating)
    const counts = new Map<ServerState, number>(SERVER_STATES.map((s) => [s, 0]))
    for (const s of o.actual) {
      const state = serverState(s, draining, gating)
      counts.set(state, (counts.get(state) ?? 0) + 1)
    }
    for (const [state, n] of counts) this.servers.set({ backend: o.backend, state }, n)
    // A withdrawn server this HAProxy does not have (never added, or deleted by someone else) will
    // never be drained here: forget it.
    const present = new Set(o.actual.map((s) => s.name))
    for (const name of this.withdrawnAt.keys()) if (!present.has(name)) this.withdrawnAt.delete(name)

    this.verdictGauge.reset()
    for (const verdict of ['up', 'down', 'pending']) this.verdictGauge.set({ verdict, reason: '' }, 0)
    for (const [name, v] of Object.entries(o.verdicts)) {
      const labels = { verdict: v.state, reason: reasonClass(v) }
      this.verdictGauge.inc(labels)
      const key = `${labels.verdict}/${labels.reason}`
      if (this.lastVerdict.get(name) !== key) this.verdictChanges.inc(labels)
      this.lastVerdict.set(name, key)
    }
    for (const name of this.lastVerdict.keys()) if (!(name in o.verdicts)) this.lastVerdict.delete(name)
  }

  synced(at: number): void {
    this.lastSync.set(at / 1000)
  }

  published(revision: number): void {
    this.acks.inc()
    this.appliedRevision.set(revision)
  }

  /** Counts the runtime API's errors on this client: the socket not answering, or HAProxy refusing a command. */
  instrument(runtime: HaproxyRuntime): void {
    const count = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, kind: (err: unknown) => string | undefined) =>
      async (...a: A): Promise<R> => {
        try {
          return await fn(...a)
        } catch (err) {
          const k = kind(err)
          if (k) this.runtimeErrors.inc({ kind: k })
          throw err
        }
      }
    runtime.send = count(runtime.send.bind(runtime), () => 'unreachable')
    const refused = (err: unknown) => (err instanceof HaproxyCommandError ? 'refused' : undefined)
    runtime.run = count(runtime.run.bind(runtime), refused)
    runtime.runLine = count(runtime.runLine.bind(runtime), refused)
  }
}
