import type { ServerVerdict, TrafficCounters } from '../registry/gateway-acks.js'
import { CHECK_FAILED, CHECK_PASSED, OP_RUNNING, type HaproxyServer } from './haproxy-runtime.js'
import type { GatewayState } from './types.js'

/*
 * What the gateway publishes about each server, read from HAProxy's own state: its verdict (up,
 * pending, down with the reason) and its traffic counters. Pure.
 */

/** How long the gateway's own check of a new server may keep failing before its "down" is final (it retries on every pass meanwhile). */
const SPEC_CHECK_FINAL_MS = 1500

/** HAProxy's counters for every desired server it has (undefined when none has any). */
export function countersOf(desired: ReadonlyMap<string, string>, actual: readonly HaproxyServer[]): Record<string, TrafficCounters> | undefined {
  const out: Record<string, TrafficCounters> = {}
  for (const s of actual) if (desired.has(s.name) && s.counters) out[s.name] = s.counters
  return Object.keys(out).length ? out : undefined
}

/** The weight HAProxy has for every desired server it has (srv_uweight), as read this pass. */
export function weightsOf(desired: ReadonlyMap<string, string>, actual: readonly HaproxyServer[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of actual) if (desired.has(s.name)) out[s.name] = s.weight
  return out
}

/** HAProxy's verdict on every desired server, as the acknowledgement carries it. */
export function verdicts(desired: ReadonlyMap<string, string>, actual: readonly HaproxyServer[], skipped: { name: string; reason: string }[], gating: Set<string>, state: GatewayState, weights?: ReadonlyMap<string, number>): Record<string, ServerVerdict> {
  const { refused, specFailingSince } = state
  const byName = new Map(actual.map((s) => [s.name, s]))
  const out: Record<string, ServerVerdict> = {}
  for (const name of [...desired.keys()].sort()) {
    const s = byName.get(name)
    const skip = skipped.find((k) => k.name === name)
    if (skip) out[name] = { state: 'down', reason: skip.reason, final: true }
    else if (refused.has(name)) out[name] = { state: 'down', reason: refused.get(name), final: Date.now() - (specFailingSince.get(name) ?? 0) >= SPEC_CHECK_FINAL_MS }
    else if (gating.has(name) || !s) out[name] = { state: 'pending' }
    // Weight 0 asked for (a revision standing by): its check passing is the verdict, it takes no traffic by design.
    else if ((s.weight > 0 || weights?.get(name) === 0) && s.opState === OP_RUNNING && s.checkResult === CHECK_PASSED && s.adminState === 0) out[name] = { state: 'up' }
    else if (s.checkResult === CHECK_FAILED) out[name] = { state: 'down', reason: `HAProxy's check failed${s.checkStatus ? ` (${s.checkStatus})` : ''}` }
    else out[name] = { state: 'pending' }
  }
  return out
}
