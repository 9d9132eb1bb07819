import { hostname } from 'node:os'
import createDebug from 'debug'
import { publishGatewayAcks, type AckPublisher, type AckState, type InstanceCheck, type TrafficCounters } from '../registry/gateway-acks.js'
import { watchPrefix, type PrefixState, type PrefixWatch } from '../registry/prefix-watch.js'
import { withEtcd } from '../registry/etcd-errors.js'
import { DEFAULT_WEIGHT, gatewayWeightPrefix, readWeights, weightsFrom } from '../registry/weights.js'
import { checkKeywords } from './check-params.js'
import { ADMIN_DRAIN_MASK, CHECK_FAILED, CHECK_PASSED, HaproxyRuntime, OP_RUNNING, type ProcessInfo } from './haproxy-runtime.js'
import { emptyViewConfirmed } from './empty-view.js'
import { checkServersFile, serverNamesInFile } from './servers-file.js'
import { planSync } from './sync.js'
import { haproxyApplier } from './haproxy-apply.js'
import { readChecks, specCheckPasses } from './instance-checks.js'
import { ServersFileSync } from './servers-file-sync.js'
import type { GatewayEvent, GatewayHandle, GatewayOptions, GatewayState } from './types.js'
import { countersOf, verdicts, weightsOf } from './verdicts.js'

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
 * The price is the same as with slots without a server-state-file: HAProxy's config does not
 * know them, so a reload starts with an empty backend. Two remedies: each pass compares
 * `show info` (Pid/start time) and diffs the servers, so the gateway re-adds them within one
 * idle pass (~250 ms of 503s); and with --servers-file it also keeps the live servers as
 * `server` lines in haproxy.cfg (servers-file.ts), so the new worker starts with them.
 *
 * Gating: HAProxy treats a server as UP before its first check ("UP 1/2"), so a new server is
 * forced DOWN (`set server ... health down`) right after it is added; HAProxy's own HTTP check
 * then brings it UP, with no round trip through the gateway. It is added at weight 0 and only
 * given its weight once it is DOWN, so it takes no request in between. Measured on HAProxy 2.6:
 * a dynamic server's check task first runs ~25 ms after `add server`. If by then its checks are
 * enabled and it is forced DOWN, that run checks it (then every `downinter` until it passes), so
 * it serves ~25-40 ms after the add; if not, the task schedules its first check one full `inter`
 * later (2 s by default, check-params.ts), and no later command brings it forward. So the add,
 * `enable health`, `state ready`, `health down` and the weight go to HAProxy as one command line:
 * as separate commands, a gateway slowed down for a few tens of ms lost that race. A server
 * re-gated after maint (the `ready` action) has no such first run: its verdict may take an inter.
 *
 * Acks: revision R is published only when every change up to R is in HAProxy: new servers have a
 * check verdict, withdrawn ones are deleted (`del server` succeeded, which HAProxy refuses while
 * any request is still attached). Putting a server in maint is not enough: a request dispatched
 * just before it still runs, and the deploy stops the container as soon as it sees the ack.
 */


export async function startGateway(opts: GatewayOptions): Promise<GatewayHandle> {
  const backend = opts.backend ?? 'app'
  const id = opts.id ?? `${hostname()}-${process.pid}`
  const runtime = opts.runtime ?? new HaproxyRuntime(opts.socketPath)
  const metrics = opts.metrics
  if (metrics) metrics.instrument(runtime)
  const emit = (e: GatewayEvent) => {
    debug('%o', e)
    metrics?.event(e)
    opts.onEvent?.(e)
  }
  const hosts = opts.etcdHosts ?? ['etcd']
  const liveWeight = opts.liveWeight ?? DEFAULT_WEIGHT
  const checkParams = `check ${checkKeywords(opts.checkIntervalMs)}`

  // Fail fast and typed: the socket (GATEWAY_UNREACHABLE), the backend (BAD_INPUT), etcd.
  let haproxy: ProcessInfo = await runtime.info()
  await runtime.servers(backend)
  if (opts.serversFile) await checkServersFile(opts.serversFile, backend)
  /**
   * Servers this gateway may delete: those etcd has named while it ran, and those in its servers
   * file's block. A server added by hand (or by anything else) is never touched.
   */
  const owned = new Set<string>(opts.serversFile ? await serverNamesInFile(opts.serversFile, backend) : [])
  /** Servers HAProxy refused to add or the gateway's check of the spec's health path failed: a "down" verdict. */
  const refused = new Map<string, string>()
  /**
   * Since when the gateway's own check of a server's spec path has failed without a pass: a
   * refusal HAProxy made is final at once, this one only after SPEC_CHECK_FINAL_MS (a blip from
   * the gateway's host must not fail a deploy that would have seen the next check pass).
   */
  const specFailingSince = new Map<string, number>()
  let lastPublished = ''
  /** The counters last read for the ack, and when (they change on every request: refreshed at a slower pace). */
  let counters: Record<string, TrafficCounters> | undefined
  let countersAt = 0
  let passError: string | undefined
  const serversFile = opts.serversFile ? new ServersFileSync(opts.serversFile, backend, checkParams, liveWeight, emit) : undefined

  let desired: PrefixState = { entries: new Map(), revision: 0, cause: 'resync' }
  /** Instance name → the weight its rollout asked for (registry/weights.ts); absent: liveWeight. */
  let weights: ReadonlyMap<string, number> = new Map()
  let applied = 0
  let stopped = false
  let running = false
  let again = false
  let pollTimer: NodeJS.Timeout | undefined
  /** When a pass last applied HAProxy's state with the lease held (readiness, metrics). */
  let lastSyncAt: number | undefined
  const drainStartedAt = new Map<string, number>()
  const addedAt = new Map<string, number>()
  const failedReported = new Set<string>()
  const skippedReported = new Set<string>()
  const shared: GatewayState = { refused, specFailingSince, drainStartedAt, addedAt, failedReported, skippedReported }
  const execute = haproxyApplier({ runtime, backend, checkParams, state: shared, emit })
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
    const started = performance.now()
    void pass(started)
      .catch((err) => {
        settled = false
        metrics?.passFailed((performance.now() - started) / 1000)
        // HAProxy restarting (socket briefly gone) or etcd away: keep the last state, retry.
        emit({ type: 'warning', message: `pass failed: ${err instanceof Error ? err.message : String(err)}` })
      })
      .finally(() => {
        running = false
        clearTimeout(pollTimer)
        if (!stopped) pollTimer = setTimeout(kick, settled ? (opts.idlePollMs ?? 250) : (opts.pollMs ?? 25))
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
        metrics?.desired(state)
        desired = state
        kick()
      },
      onError: (err) => {
        metrics?.etcdError()
        debug('etcd: %s', err instanceof Error ? err.message : err)
      },
      onRewatch: (message) => {
        metrics?.rewatch()
        emit({ type: 'warning', message })
      },
    }),
  )
  let weightWatch: PrefixWatch
  try {
    weightWatch = await withEtcd(hosts, () =>
      watchPrefix(opts.client, gatewayWeightPrefix(opts.prefix, opts.recordsRoot), {
        resyncMs: opts.resyncMs ?? 3000,
        onChange: (state) => {
          weights = weightsFrom(state.entries)
          kick()
        },
        onError: (err) => debug('etcd (weights): %s', err instanceof Error ? err.message : err),
      }),
    )
  } catch (err) {
    await watch.stop()
    throw err
  }
  let publisher: AckPublisher
  try {
    publisher = await withEtcd(hosts, () =>
      publishGatewayAcks(opts.client, opts.prefix, id, { host: hostname(), pid: process.pid, socket: opts.socketPath, since: new Date().toISOString() }, { ttlSec: opts.ackTtlSec, root: opts.recordsRoot }),
    )
  } catch (err) {
    await Promise.all([watch.stop(), weightWatch.stop()])
    throw err
  }

  async function pass(started: number): Promise<void> {
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

    for (const name of target.entries.keys()) owned.add(name)
    for (const name of refused.keys()) if (!target.entries.has(name)) refused.delete(name)
    for (const name of specFailingSince.keys()) if (!refused.has(name)) specFailingSince.delete(name)
    const mine = new Set([...owned].filter((name) => present.has(name)))
    let keep: string | undefined
    let kept: string[] = []
    if (target.entries.size === 0 && mine.size > 0 && !(await emptyViewConfirmed(opts.client, opts.prefix, opts.recordsRoot))) {
      // An empty view from a wrong --prefix or an etcd restored from an old backup must not
      // wipe the backend: N → 0 needs forrest's records to say an app there was scaled to 0.
      keep = `etcd has no instance under /${opts.prefix}/ but no app forrest has records of was scaled to 0 there: kept ${mine.size} server${mine.size === 1 ? '' : 's'} (wrong --prefix, or etcd restored from an old backup?)`
      kept = [...mine].sort()
      mine.clear()
    }
    // A server about to be added gets its weight from a fresh read: the weight key is written in
    // the instance key's transaction, but its watch may deliver it a moment after the key's.
    if ([...target.entries.keys()].some((name) => !present.has(name))) weights = await readWeights(opts.client, opts.prefix, opts.recordsRoot)
    const plan = planSync({ desired: target.entries, actual, now, drainStartedAt, drainTimeoutMs: opts.drainTimeoutMs ?? 30_000, trustedLive, owned: mine, weights, liveWeight })
    for (const s of plan.skipped) {
      if (!skippedReported.has(s.name)) emit({ type: 'skipped', ...s })
      skippedReported.add(s.name)
    }
    let ok = true
    let reweighted = false
    passError = keep
    const deleted = new Set<string>()
    const checks = plan.actions.some((a) => a.kind === 'add' && !a.trusted) ? await readChecks(opts.client, opts.prefix, opts.recordsRoot) : new Map<string, InstanceCheck>()
    for (const action of plan.actions) {
      try {
        if (action.kind === 'add' && !action.trusted && !(await specCheckPasses(action.name, action.address, checks.get(action.name), shared, emit))) continue
        if ((await execute(action)) === 'deleted') deleted.add(action.name)
        if (action.kind === 'weight') reweighted = true
        if (action.kind === 'add') refused.delete(action.name)
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        debug('action %o failed: %s', action, message)
        if (action.kind === 'add') {
          // HAProxy will not take it (e.g. an address it rejects): a verdict, not a reason to stop acking.
          if (!refused.has(action.name)) emit({ type: 'warning', message: `cannot add ${action.name} (${action.address}): ${message}` })
          refused.set(action.name, `HAProxy refused it: ${message}`)
        } else {
          ok = false
          passError = message
        }
      }
    }
    for (const s of actual) {
      if (!target.entries.has(s.name)) continue
      const notServing = s.weight === 0 || s.opState !== OP_RUNNING
      if (notServing && s.checkResult === CHECK_FAILED && !failedReported.has(s.name)) {
        failedReported.add(s.name)
        emit({ type: 'check-failed', name: s.name, address: s.address })
      }
      if (s.opState === OP_RUNNING && s.checkResult === CHECK_PASSED) failedReported.delete(s.name)
      const t = addedAt.get(s.name)
      if (t !== undefined && s.weight > 0 && s.opState === OP_RUNNING && s.checkResult === CHECK_PASSED) {
        // HAProxy put it UP itself (forced DOWN at add, first check passed).
        addedAt.delete(s.name)
        emit({ type: 'up', name: s.name, address: s.address, msSinceAdded: now - t })
      }
    }
    // A server whose `del server` was refused (a request still attached) is still draining.
    const draining = plan.draining.filter((name) => !deleted.has(name))
    const gating = plan.gating.filter((name) => !refused.has(name))
    if (serversFile && !(await serversFile.sync(target.entries, actual))) {
      ok = false
      passError = serversFile.error
    }
    // A weight just set is published from HAProxy's own state, read by the next pass: soon.
    settled = ok && !reweighted && gating.length === 0 && draining.length === 0
    if (settled && target.revision > applied && opts.serversFile) {
      // A reload that began before the servers file lost a withdrawn server starts a worker that
      // still has it: ack only if HAProxy is still the worker this pass applied to (else the next
      // pass sees the restart and applies to the new worker first). A worker still parsing its
      // config is not visible here; the starter config's retry-on covers that last window.
      const again = await runtime.info()
      if (again.pid !== haproxy.pid || again.startTimeSec !== haproxy.startTimeSec) settled = false
    }
    // A withdrawal the guard kept is not applied: never acknowledged as if it were.
    const revision = settled && !keep ? Math.max(applied, target.revision) : applied
    if (now - countersAt >= (opts.countersEveryMs ?? 1000)) {
      counters = countersOf(target.entries, actual)
      countersAt = now
    }
    const state: AckState = {
      revision,
      servers: verdicts(target.entries, actual, plan.skipped, new Set(gating), shared, weights),
      ...(draining.length ? { draining: [...draining].sort() } : {}),
      ...(passError ? { error: passError } : {}),
      ...(kept.length ? { kept } : {}),
      ...(counters ? { counters, countersAt } : {}),
      weights: weightsOf(target.entries, actual),
    }
    let acked = true
    if (JSON.stringify(state) !== lastPublished) {
      try {
        await publisher.publish(state)
        metrics?.published(revision)
        lastPublished = JSON.stringify(state)
        if (revision > applied) emit({ type: 'applied', revision })
        applied = revision
      } catch (err) {
        acked = false
        debug('publishing ack failed (etcd down?): %s', err instanceof Error ? err.message : err)
      }
    }
    if (ok && acked && publisher.leaseHeld()) {
      lastSyncAt = Date.now()
      metrics?.synced(lastSyncAt)
    }
    metrics?.pass((performance.now() - started) / 1000, ok, { backend, actual, draining, gating, verdicts: state.servers ?? {} })
  }

  emit({ type: 'started', id, socket: opts.socketPath, prefix: opts.prefix, backend, haproxyPid: haproxy.pid })
  kick()

  return {
    id,
    appliedRevision: () => applied,
    status: () => ({ leaseHeld: publisher.leaseHeld(), lastSyncAt }),
    stop: async () => {
      if (stopped) return
      stopped = true
      clearTimeout(pollTimer)
      await Promise.all([watch.stop(), weightWatch.stop()])
      await publisher.close()
    },
  }
}
