import {
  ADMIN_DRAIN_MASK,
  ADMIN_MAINT_MASK,
  CHECK_ENABLED,
  CHECK_FAILED,
  CHECK_PASSED,
  OP_RUNNING,
  type HaproxyServer,
} from './haproxy-runtime.js'
import { DEFAULT_WEIGHT } from '../registry/weights.js'

/**
 * Pure reconciliation: (what etcd says, what HAProxy reports) → runtime actions. No I/O, no
 * clock (now is passed in), so every transition is a table-driven unit test.
 *
 * Lifecycle of one instance in the backend (dynamic servers, see gateway.ts for why):
 *   add, forced DOWN (`set server health down`: HAProxy routes nothing to it and checks it every
 *   `downinter`) → HAProxy's HTTP check passes → HAProxy itself puts it UP → key withdrawn →
 *   drain (no new requests) → 0 sessions or drain timeout → remove (maint, then `del server`,
 *   which HAProxy refuses while a request is still attached: retried, and not "applied" until
 *   it succeeds).
 * HAProxy assumes a server UP before its first check ("UP 1/2"), so the forced DOWN, not the
 * check alone, is what keeps a container that accepts TCP but never answers HTTP out of rotation.
 * A server at weight 0 (a gate left by an add that failed half-way, or an older gateway) is
 * promoted once its check has passed.
 */
export type SyncAction =
  /** `trusted`: re-added after an HAProxy reload, it was live there a moment ago (see SyncInput). */
  | { kind: 'add'; name: string; address: string; trusted?: boolean; weight: number }
  | { kind: 'enable-health'; name: string }
  | { kind: 'promote'; name: string; address: string; weight: number }
  /** Back into rotation after a drain/maint (key re-announced); `regate` when checks were paused in maint. */
  | { kind: 'ready'; name: string; regate: boolean; weight: number }
  /** A live server's weight differs from the one its rollout asked for (weights.ts): `set server ... weight`. */
  | { kind: 'weight'; name: string; weight: number; from: number }
  | { kind: 'drain'; name: string; address: string; reason: 'withdrawn' | 'moved' }
  /** maint + del server; `forced` when the drain timed out with sessions left (they are shut down). */
  | { kind: 'remove'; name: string; address: string; forced: boolean; sessions: number }

export interface SyncInput {
  /** Instance name → "ip:port", from etcd. */
  desired: ReadonlyMap<string, string>
  actual: readonly HaproxyServer[]
  now: number
  /** When the gateway first saw each server draining (it keeps this across passes). */
  drainStartedAt: ReadonlyMap<string, number>
  drainTimeoutMs: number
  /**
   * "name@ip:port" of servers that were live (passing checks, weight > 0) in an HAProxy process
   * that has just been replaced by a reload. They are re-added live at once instead of gated:
   * the new process starts with an empty backend and every gated millisecond is a 503. HAProxy
   * still checks them and pulls one that fails (first check one inter after the add, then fastinter).
   */
  trustedLive?: ReadonlySet<string>
  /**
   * Servers the gateway may drain and delete when etcd no longer names them (default: all).
   * Anything else in the backend (added by hand, or kept by the empty-view guard) is left alone.
   */
  owned?: ReadonlySet<string>
  /** Instance name → the weight its rollout asked for (forrest's weight keys); others get `liveWeight`. */
  weights?: ReadonlyMap<string, number>
  /** The weight of a server with no weight key (the gateway's --weight, default 100). */
  liveWeight?: number
}

export interface SyncPlan {
  actions: SyncAction[]
  /** Desired servers still waiting for HAProxy's first check verdict (after this pass's actions). */
  gating: string[]
  /** Withdrawn servers still in HAProxy (holding sessions, or being removed by this pass). */
  draining: string[]
  /** Keys whose name or value HAProxy cannot take (name chars, not ip:port). */
  skipped: { name: string; reason: string }[]
}

const NAME_RE = /^[A-Za-z0-9_.:-]+$/
const ADDR_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/

export function validateEntry(name: string, address: string): string | undefined {
  if (!NAME_RE.test(name)) return `name "${name}" has characters HAProxy does not allow in a server name`
  const m = ADDR_RE.exec(address)
  if (!m) return `value "${address}" is not IPv4 ip:port`
  if (m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) < 1 || Number(m[5]) > 65535) return `value "${address}" is not a valid IPv4 address and port`
  return undefined
}

export function planSync(input: SyncInput): SyncPlan {
  const plan: SyncPlan = { actions: [], gating: [], draining: [], skipped: [] }
  const actualByName = new Map(input.actual.map((s) => [s.name, s]))
  const desired = new Map<string, string>()
  for (const [name, address] of input.desired) {
    const problem = validateEntry(name, address)
    if (problem) plan.skipped.push({ name, reason: problem })
    else desired.set(name, address)
  }

  const weightOf = (name: string) => input.weights?.get(name) ?? input.liveWeight ?? DEFAULT_WEIGHT
  for (const [name, address] of desired) {
    const srv = actualByName.get(name)
    const weight = weightOf(name)
    if (!srv) {
      if (input.trustedLive?.has(`${name}@${address}`)) {
        plan.actions.push({ kind: 'add', name, address, trusted: true, weight })
      } else {
        plan.actions.push({ kind: 'add', name, address, weight })
        plan.gating.push(name)
      }
      continue
    }
    if (srv.address !== address) {
      // Same instance name, new address: never repoint a live server (in-flight requests would
      // hit the new container unchecked). Drain and remove it; a later pass adds it back gated.
      planWithdrawn(srv, input, plan, 'moved')
      plan.gating.push(name)
      continue
    }
    planDesired(srv, plan, weight)
  }
  // Weights that go down run after every one that goes up (and every promote): a switch from one
  // colour to the other never passes through a moment where every server is at 0 (a 503).
  const lowers = plan.actions.filter((a) => a.kind === 'weight' && a.weight < a.from)
  plan.actions = [...plan.actions.filter((a) => !lowers.includes(a)), ...lowers]

  for (const srv of input.actual) {
    if (input.owned && !input.owned.has(srv.name)) continue
    if (!desired.has(srv.name) && !plan.skipped.some((s) => s.name === srv.name)) planWithdrawn(srv, input, plan, 'withdrawn')
    // A skipped key (invalid value) leaves any existing server alone rather than pulling it.
  }
  return plan
}

function planDesired(srv: HaproxyServer, plan: SyncPlan, weight: number): void {
  const inMaint = (srv.adminState & ADMIN_MAINT_MASK) !== 0
  const inDrain = (srv.adminState & ADMIN_DRAIN_MASK) !== 0
  if (inMaint || inDrain) {
    // Checks are paused in maint, so its last verdict is stale: gate it again.
    plan.actions.push({ kind: 'ready', name: srv.name, regate: inMaint, weight })
    if (inMaint || srv.weight === 0) plan.gating.push(srv.name)
    return
  }
  if ((srv.checkState & CHECK_ENABLED) === 0) {
    plan.actions.push({ kind: 'enable-health', name: srv.name })
    if (srv.weight === 0) plan.gating.push(srv.name)
    return
  }
  if (srv.weight > 0) {
    // Forced DOWN at add and not checked since (result unknown, or stale from before a
    // re-gate): no verdict yet. A failed check is a verdict: HAProxy keeps it DOWN.
    if (srv.opState !== OP_RUNNING && srv.checkResult !== CHECK_FAILED) plan.gating.push(srv.name)
    // Live (or checked and down): its weight follows the rollout's, 0 included (checked, no traffic).
    else if (srv.weight !== weight) plan.actions.push({ kind: 'weight', name: srv.name, weight, from: srv.weight })
    return // otherwise live; HAProxy's own checks take it out if it fails
  }
  if (srv.opState === OP_RUNNING && srv.checkResult === CHECK_PASSED) {
    // Asked for weight 0 (a revision standing by): checked and passing, it stays at 0 and is done.
    if (weight > 0) plan.actions.push({ kind: 'promote', name: srv.name, address: srv.address, weight })
  } else if (srv.checkResult !== CHECK_FAILED) {
    plan.gating.push(srv.name) // no verdict yet
  }
  // Failed check: a verdict. It stays gated (weight 0) and is promoted if it ever passes.
}

function planWithdrawn(srv: HaproxyServer, input: SyncInput, plan: SyncPlan, reason: 'withdrawn' | 'moved'): void {
  const inMaint = (srv.adminState & ADMIN_MAINT_MASK) !== 0
  const inDrain = (srv.adminState & ADMIN_DRAIN_MASK) !== 0
  const busy = srv.sessions + srv.queued
  // A removal is only done when `del server` succeeds; until then the server counts as
  // draining, so no ack can claim it applied (the gateway reports a refused del as pending).
  plan.draining.push(srv.name)
  if (busy === 0) {
    // Nothing in flight: straight to maint + del. A request that slips in between the stat
    // read and maint keeps running; del then refuses and the next pass retries.
    plan.actions.push({ kind: 'remove', name: srv.name, address: srv.address, forced: false, sessions: 0 })
    return
  }
  const started = input.drainStartedAt.get(srv.name) ?? input.now
  if (input.now - started >= input.drainTimeoutMs) {
    plan.actions.push({ kind: 'remove', name: srv.name, address: srv.address, forced: true, sessions: busy })
    return
  }
  if (!inMaint && !inDrain) plan.actions.push({ kind: 'drain', name: srv.name, address: srv.address, reason })
}
