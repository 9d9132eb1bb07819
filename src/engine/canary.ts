import { setTimeout as sleep } from 'node:timers/promises'
import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { describeCanary, judgeCanary, trafficBetween, type CanaryAnalysis, type CounterSnapshot } from '../plan/canary.js'
import { readGatewayAcks } from '../registry/gateway-acks.js'
import type { CanarySpec } from '../spec/types.js'

export interface CanaryRun {
  prefix: string
  /** The canary wave's instances (serving by the time the analysis starts). */
  canary: string[]
  /** The old revision's serving instances: the baseline. */
  stable: string[]
  spec: CanarySpec
  signal: AbortSignal
}

/** Every live gateway's counters for the prefix, from its acknowledgement. */
async function snapshot(ctx: Context, prefix: string): Promise<CounterSnapshot> {
  const { acks } = await readGatewayAcks(ctx.etcd, prefix, ctx.config.recordsRoot)
  return new Map([...acks].map(([id, ack]) => [id, ack.counters ?? {}]))
}

/**
 * Holds the canary for the window and judges it on what the gateways counted meanwhile: the
 * counters are read at the start and the end of the window, and only the deltas count, so
 * traffic the old instances served before the rollout does not dilute anything. Without gateways
 * there are no counters: the canary then has 0 responses and fails minRequests (a canary that
 * cannot be measured is not promoted).
 */
export async function analyseCanary(ctx: Context, run: CanaryRun): Promise<CanaryAnalysis> {
  const started = Date.now()
  const start = await snapshot(ctx, run.prefix)
  try {
    await sleep(run.spec.window, undefined, { signal: run.signal }) // update.canary.window: traffic is observed, not polled (abort ends it)
  } catch {
    throw new ForrestError('INTERRUPTED', 'interrupted during the canary window')
  }
  const end = await snapshot(ctx, run.prefix)
  const thresholds = { minRequests: run.spec.minRequests, maxErrorRateIncrease: run.spec.maxErrorRateIncrease, maxLatencyFactor: run.spec.maxLatencyFactor }
  const canary = trafficBetween(start, end, run.canary)
  const stable = trafficBetween(start, end, run.stable)
  const verdict = judgeCanary({ canary, stable, thresholds })
  // Said plainly: "0 responses" alone reads like an app problem when the gateways are the cause.
  if (![...end.values()].some((c) => Object.keys(c).length > 0)) {
    verdict.reasons.unshift(end.size ? `no gateway for /${run.prefix}/ publishes traffic counters (an older forrest gateway?)` : `no gateway runs for /${run.prefix}/: a canary is judged on the traffic forrest gateway counts`)
  }
  return {
    ...verdict,
    windowMs: Date.now() - started,
    canary: { ...canary, instances: run.canary },
    stable: { ...stable, instances: run.stable },
    thresholds,
  }
}

/** A failed analysis as the step failure that sends the rollout down the rollback path. */
export const canaryFailure = (a: CanaryAnalysis) =>
  new ForrestError('ROLLOUT_FAILED', describeCanary(a), { detail: { canary: a } })
