import { hostname } from 'node:os'
import createDebug from 'debug'
import type { Etcd3 } from 'etcd3'
import { publishGatewayAcks, type AckPublisher } from '../registry/gateway-acks.js'
import { watchPrefix, type PrefixState, type PrefixWatch } from '../registry/prefix-watch.js'
import { withEtcd } from '../registry/etcd-errors.js'
import { ADMIN_DRAIN_MASK, HaproxyRuntime, type ProcessInfo } from './haproxy-runtime.js'
import { planSync, type SyncAction } from './sync.js'

const debug = createDebug('forrest:gateway')

/*
 * Why dynamic servers (`add server` / `del server`) rather than server-template slots:
 * - HAProxy 2.6 runs health checks on dynamic servers (`add server ... check` + `enable health`),
 *   verified against the real binary in test/integration/gateway.test.ts, and `del server`
 *   frees them once in maint with no connections.
 * - The server name in HAProxy *is* the instance name, so `show stat`, logs and the stats page
 *   speak forrest's names, and the gateway keeps no name→slot map: HAProxy's own state is the
 *   only state, so a restarted gateway (or two gateways on one HAProxy) converges by diffing.
 * - No fixed capacity to size and no placeholder addresses in the config.
 * The price is the same as with slots without a server-state-file: a reload starts with an
 * empty backend. Each pass compares `show info` (Pid/start time) and diffs the servers, so the
 * gateway re-adds them within one pass (see the reload test for the measured gap).
 *
 * Gating: HAProxy treats a server as UP before its first check ("UP 1/2"), so a new server is
 * added with weight 0 and only promoted once HAProxy's HTTP check has actually passed.
 */

export type GatewayEvent =
  | { type: 'started'; id: string; socket: string; prefix: string; backend: string; haproxyPid: number }
  | { type: 'added'; name: string; address: string }
  | { type: 'up'; name: string; address: string; msSinceAdded?: number }
  | { type: 'check-failed'; name: string; address: string }
  | { type: 'draining'; name: string; address: string }
  | { type: 'drained'; name: string; address: string; forced: boolean; sessions: number }
  | { type: 'applied'; revision: number }
  | { type: 'haproxy-restarted'; pid: number }
  | { type: 'skipped'; name: string; reason: string }
  | { type: 'warning'; message: string }

export interface GatewayOptions {
  client: Etcd3
  /** For error messages only. */
  etcdHosts?: string[]
  socketPath: string
  backend?: string
  prefix: string
  id?: string
  /** Server keywords for `add server` (dynamic servers ignore default-server). */
  checkParams?: string
  liveWeight?: number
  drainTimeoutMs?: number
  /** Full etcd re-read period (safety net behind the watch). */
  resyncMs?: number
  /** HAProxy pass period when settled: how fast a reload (empty backend) is noticed. */
  idlePollMs?: number
  /** Pass period while servers are gated or draining. */
  pollMs?: number
  ackTtlSec?: number
  /** forrest's records root in etcd (config.recordsRoot); acks go under <root>/gateways/. */
  recordsRoot?: string
  onEvent?: (event: GatewayEvent) => void
}

export interface GatewayHandle {
  id: string
  /** Last revision published as applied (0 before the first settled pass). */
  appliedRevision(): number
  stop(): Promise<void>
}

export const DEFAULT_CHECK_PARAMS = 'check inter 200ms fall 2 rise 1'

export async function startGateway(opts: GatewayOptions): Promise<GatewayHandle> {
  const backend = opts.backend ?? 'app'
  const id = opts.id ?? `${hostname()}-${process.pid}`
  const runtime = new HaproxyRuntime(opts.socketPath)
  const emit = (e: GatewayEvent) => {
    debug('%o', e)
    opts.onEvent?.(e)
  }
  const hosts = opts.etcdHosts ?? ['etcd']
  const liveWeight = opts.liveWeight ?? 100

  // Fail fast and typed: the socket (GATEWAY_UNREACHABLE), the backend (BAD_INPUT), etcd.
  let haproxy: ProcessInfo = await runtime.info()
  await runtime.servers(backend)

  let desired: PrefixState = { entries: new Map(), revision: 0, cause: 'resync' }
  let applied = 0
  let stopped = false
  let running = false
  let again = false
  let pollTimer: NodeJS.Timeout | undefined
  const drainStartedAt = new Map<string, number>()
  const addedAt = new Map<string, number>()
  const failedReported = new Set<string>()
  const skippedReported = new Set<string>()
  const drainedReported = new Set<string>()
  let settled = false
  /** "name@addr" of servers live in the current HAProxy process, for re-adding after a reload. */
  let liveInProcess = new Set<string>()

  const kick = (): void => {
    if (stopped) return
    if (running) {
      again = true
      return
    }
    running = true
    void pass()
      .catch((err) => {
        settled = false
        // HAProxy restarting (socket briefly gone) or etcd away: keep the last state, retry.
        emit({ type: 'warning', message: `pass failed: ${err instanceof Error ? err.message : String(err)}` })
      })
      .finally(() => {
        running = false
        clearTimeout(pollTimer)
        if (!stopped) pollTimer = setTimeout(kick, settled ? (opts.idlePollMs ?? 250) : (opts.pollMs ?? 100))
        if (again) {
          again = false
          kick()
        }
      })
  }

  const watch: PrefixWatch = await withEtcd(hosts, () =>
    watchPrefix(opts.client, opts.prefix, {
      resyncMs: opts.resyncMs ?? 3000,
      onChange: (state) => {
        desired = state
        kick()
      },
      onError: (err) => debug('etcd: %s', err instanceof Error ? err.message : err),
    }),
  )
  let publisher: AckPublisher
  try {
    publisher = await withEtcd(hosts, () =>
      publishGatewayAcks(opts.client, opts.prefix, id, { host: hostname(), pid: process.pid, socket: opts.socketPath, since: new Date().toISOString() }, { ttlSec: opts.ackTtlSec, root: opts.recordsRoot }),
    )
  } catch (err) {
    await watch.stop()
    throw err
  }

  async function pass(): Promise<void> {
    const target = desired
    const info = await runtime.info()
    let trustedLive: Set<string> | undefined
    if (info.pid !== haproxy.pid || info.startTimeSec !== haproxy.startTimeSec) {
      emit({ type: 'haproxy-restarted', pid: info.pid })
      trustedLive = liveInProcess
      addedAt.clear()
      failedReported.clear()
    }
    haproxy = info
    const actual = await runtime.servers(backend)
    liveInProcess = new Set(actual.filter((s) => s.weight > 0 && s.opState === 2 && s.adminState === 0).map((s) => `${s.name}@${s.address}`))
    const now = Date.now()
    const present = new Set(actual.map((s) => s.name))
    for (const name of drainStartedAt.keys()) if (!present.has(name) || target.entries.has(name)) drainStartedAt.delete(name)
    for (const s of actual) if (!target.entries.has(s.name) && s.adminState & ADMIN_DRAIN_MASK && !drainStartedAt.has(s.name)) drainStartedAt.set(s.name, now)

    const plan = planSync({ desired: target.entries, actual, now, drainStartedAt, drainTimeoutMs: opts.drainTimeoutMs ?? 30_000, trustedLive })
    for (const s of plan.skipped) {
      if (!skippedReported.has(s.name)) emit({ type: 'skipped', ...s })
      skippedReported.add(s.name)
    }
    let ok = true
    for (const action of plan.actions) {
      try {
        await execute(action)
      } catch (err) {
        ok = false
        debug('action %o failed: %s', action, err instanceof Error ? err.message : err)
      }
    }
    for (const s of actual) {
      if (s.weight === 0 && s.checkResult === 2 && target.entries.has(s.name) && !failedReported.has(s.name)) {
        failedReported.add(s.name)
        emit({ type: 'check-failed', name: s.name, address: s.address })
      }
    }
    settled = ok && plan.gating.length === 0 && plan.draining.length === 0
    if (settled && target.revision > applied) {
      try {
        await publisher.publish(target.revision)
        applied = target.revision
        emit({ type: 'applied', revision: applied })
      } catch (err) {
        debug('publishing ack failed (etcd down?): %s', err instanceof Error ? err.message : err)
      }
    }
  }

  async function execute(a: SyncAction): Promise<void> {
    const srv = `${backend}/${a.name}`
    switch (a.kind) {
      case 'add':
        await runtime.run(`add server ${srv} ${a.address} ${opts.checkParams ?? DEFAULT_CHECK_PARAMS} weight ${a.trusted ? liveWeight : 0}`)
        await runtime.run(`enable health ${srv}`)
        await runtime.run(`set server ${srv} state ready`)
        failedReported.delete(a.name)
        if (a.trusted) {
          emit({ type: 'up', name: a.name, address: a.address })
        } else {
          addedAt.set(a.name, Date.now())
          emit({ type: 'added', name: a.name, address: a.address })
        }
        return
      case 'enable-health':
        await runtime.run(`enable health ${srv}`)
        return
      case 'promote': {
        await runtime.run(`set server ${srv} weight ${liveWeight}`)
        const t = addedAt.get(a.name)
        addedAt.delete(a.name)
        emit({ type: 'up', name: a.name, address: a.address, msSinceAdded: t === undefined ? undefined : Date.now() - t })
        return
      }
      case 'ready':
        if (a.regate) await runtime.run(`set server ${srv} weight 0`)
        await runtime.run(`set server ${srv} state ready`)
        return
      case 'drain':
        await runtime.run(`set server ${srv} state drain`)
        drainStartedAt.set(a.name, Date.now())
        emit({ type: 'draining', name: a.name, address: a.address })
        return
      case 'remove':
        if (a.forced) await runtime.run(`shutdown sessions server ${srv}`)
        await runtime.run(`set server ${srv} state maint`)
        // In maint with no sessions it takes no traffic: that is "applied". `del server` may still
        // refuse while idle keep-alive connections linger; the next pass retries it.
        if (!drainedReported.has(a.name)) emit({ type: 'drained', name: a.name, address: a.address, forced: a.forced, sessions: a.sessions })
        drainedReported.add(a.name)
        await runtime.run(`del server ${srv}`).then(
          () => drainedReported.delete(a.name),
          (err: unknown) => debug('del %s deferred: %s', srv, err instanceof Error ? err.message : err),
        )
        drainStartedAt.delete(a.name)
        return
    }
  }

  emit({ type: 'started', id, socket: opts.socketPath, prefix: opts.prefix, backend, haproxyPid: haproxy.pid })
  kick()

  return {
    id,
    appliedRevision: () => applied,
    stop: async () => {
      if (stopped) return
      stopped = true
      clearTimeout(pollTimer)
      await watch.stop()
      await publisher.close()
    },
  }
}
