/**
 * Canary: pure parts. Splitting a rollout plan so its first starts form a canary wave, and
 * judging the canary against the stable instances from the gateways' traffic counters.
 * The executor (src/engine/canary.ts) reads the counters and waits the window.
 */
import { WAVES_NOTE } from './plan-rollout.js'
import type { RolloutPlan, StartStep, Wave } from './types.js'

/**
 * Pulls the first `count` start steps of an update out of their waves into one canary wave
 * (starts only, no retires), placed where the first start was. Later waves keep their retires
 * and lose those starts: every instance comes up no later than in the plain plan and every retire
 * happens at the same point, so "serving >= floor" still holds; the containers' ceiling is
 * exceeded by at most `count` while the canary runs (it runs on top of the old instances).
 * Only an update is split: a create or scale has no stable revision to compare against.
 */
export function withCanary(plan: RolloutPlan, count: number, opts: { shares?: number[] } = {}): RolloutPlan {
  if (plan.action !== 'update' || count < 1) return plan
  const first = plan.waves.findIndex((w) => w.starts.some((s) => s.kind === 'start'))
  if (first < 0) return plan
  const canary: StartStep[] = []
  const waves: Wave[] = []
  for (const w of plan.waves) {
    const starts = w.starts.filter((s) => {
      if (s.kind !== 'start' || canary.length >= count) return true
      // A weighted canary is announced at weight 0 (checked, no traffic): its first step gives it its share.
      canary.push(opts.shares ? { ...s, weight: 0 } : s)
      return false
    })
    if (starts.length + w.retires.length > 0) waves.push({ ...w, starts })
  }
  waves.splice(first, 0, { order: 'start-first', starts: canary, retires: [], canary: true })
  const n = canary.length
  // The header's wave count includes the canary's wave now.
  const notes = plan.notes.map((l) => (WAVES_NOTE.test(l) ? l.replace(/^\d+ waves?/, `${waves.length} waves`) : l))
  if (waves.length > 1 && !notes.some((l) => WAVES_NOTE.test(l))) notes.push(`${waves.length} waves`)
  const share = opts.shares ? `, given ${opts.shares.map((x) => `${+(x * 100).toFixed(2)}%`).join(' → ')} of requests through weights, judged at each step` : ', judged on real traffic'
  return { ...plan, waves, notes: [...notes, `canary: ${n} instance${n === 1 ? '' : 's'} of revision ${plan.toRevision} first (${canary.map((s) => s.instance).join(', ')})${share} before the rest`] }
}

/** One gateway's counters for one instance at one moment. */
export interface CounterSample {
  responses: number
  errors5xx: number
  rtimeMs: number
  /** HAProxy's econ, eresp, wretr, wredis (absent from an older gateway: 0). */
  econ?: number
  eresp?: number
  wretr?: number
  wredis?: number
}

/** The failures HAProxy hides from clients by retrying and redispatching: they count against the server. */
export const FAILURE_COUNTERS = ['econ', 'eresp', 'wretr', 'wredis'] as const
export type FailureCounts = Record<(typeof FAILURE_COUNTERS)[number], number>

/** gateway id → instance name → counters: what the gateways' acknowledgements carry. */
export type CounterSnapshot = ReadonlyMap<string, Readonly<Record<string, CounterSample>>>

export interface TrafficFigures {
  responses: number
  errors5xx: number
  /** errors5xx / responses (0 without responses). */
  errorRate: number
  /**
   * Connection errors, response errors, retries and redispatches HAProxy counted against the
   * instances (econ, eresp, wretr, wredis): a server that drops connections shows here even when
   * HAProxy retried every request elsewhere and no client saw a 5xx.
   */
  failures?: FailureCounts
  /** (econ + eresp + wretr + wredis) / (responses + that sum): 0 without traffic. Both absent in analyses recorded by an older forrest. */
  failureRate?: number
  /** Average response time, weighted by each instance's responses in the window (ms). */
  rtimeMs: number
}

export interface CanaryThresholds {
  minRequests: number
  maxErrorRateIncrease: number
  maxLatencyFactor: number
}

export interface CanaryAnalysis {
  verdict: 'passed' | 'failed'
  /** Why it failed (every failed rule), or what it passed on. */
  reasons: string[]
  windowMs: number
  canary: TrafficFigures & { instances: string[] }
  stable: TrafficFigures & { instances: string[] }
  thresholds: CanaryThresholds
  /** A weighted canary (update.canary.traffic/steps): the share asked for at this analysis, the share HAProxy gave it, and the weights. */
  traffic?: TrafficShare
  /** A stepped canary: every step analysed so far, in order (the last one is this analysis). */
  steps?: Array<TrafficShare & { verdict: CanaryAnalysis['verdict']; responses: number }>
}

export interface TrafficShare {
  /** The share asked for (fraction). */
  asked: number
  /** canary responses / (canary + stable responses) in the window. */
  received: number
  /** Each canary and each stable instance's weight. */
  weights: { canary: number; stable: number }
}

/** The share of the window's responses the canary served. */
export const receivedShare = (a: Pick<CanaryAnalysis, 'canary' | 'stable'>): number =>
  a.canary.responses + a.stable.responses ? a.canary.responses / (a.canary.responses + a.stable.responses) : 0

/**
 * Below this, HAProxy's millisecond response times are noise: a stable 0-1 ms against a canary
 * 2-3 ms is not a regression worth a rollback.
 */
export const LATENCY_FLOOR_MS = 5

/**
 * What each group served between two snapshots, summed over gateways (each HAProxy counts its own
 * traffic). A counter that went down was reset (HAProxy reloaded, server re-added): the end value
 * is then what it served since. rtime is HAProxy's recent average, weighted by responses.
 */
export function trafficBetween(start: CounterSnapshot, end: CounterSnapshot, instances: readonly string[]): TrafficFigures {
  let responses = 0
  let errors5xx = 0
  let weighted = 0
  const failures: FailureCounts = { econ: 0, eresp: 0, wretr: 0, wredis: 0 }
  for (const [gateway, counters] of end) {
    for (const name of instances) {
      const e = counters[name]
      if (!e) continue
      const s = start.get(gateway)?.[name]
      const reset = !s || e.responses < s.responses || e.errors5xx < s.errors5xx || FAILURE_COUNTERS.some((c) => (e[c] ?? 0) < (s[c] ?? 0))
      const dr = reset ? e.responses : e.responses - s.responses
      responses += dr
      errors5xx += reset ? e.errors5xx : e.errors5xx - s.errors5xx
      for (const c of FAILURE_COUNTERS) failures[c] += (e[c] ?? 0) - (reset ? 0 : (s[c] ?? 0))
      weighted += dr * e.rtimeMs
    }
  }
  const failed = sumFailures(failures)
  return {
    responses,
    errors5xx,
    errorRate: responses ? errors5xx / responses : 0,
    failures,
    failureRate: responses + failed ? failed / (responses + failed) : 0,
    rtimeMs: responses ? Math.round(weighted / responses) : 0,
  }
}

const NO_FAILURES: FailureCounts = { econ: 0, eresp: 0, wretr: 0, wredis: 0 }
const sumFailures = (f: FailureCounts = NO_FAILURES) => FAILURE_COUNTERS.reduce((sum, c) => sum + f[c], 0)
const describeFailures = (f: FailureCounts = NO_FAILURES) => `econ ${f.econ}, eresp ${f.eresp}, wretr ${f.wretr}, wredis ${f.wredis}`

const pct = (x: number) => `${(x * 100).toFixed(1)}%`

/** The verdict: every rule is checked, every failed one is a reason. */
export function judgeCanary(input: { canary: TrafficFigures; stable: TrafficFigures; thresholds: CanaryThresholds }): Pick<CanaryAnalysis, 'verdict' | 'reasons'> {
  const { canary: c, stable: s, thresholds: t } = input
  const failed: string[] = []
  if (c.responses < t.minRequests) {
    failed.push(`the canary served ${c.responses} response${c.responses === 1 ? '' : 's'} in the window, fewer than minRequests ${t.minRequests}: nothing proven`)
  }
  // Without stable traffic (every old instance gone), the canary is held to a 0% baseline.
  const increase = c.errorRate - s.errorRate
  if (c.responses > 0 && increase > t.maxErrorRateIncrease) {
    failed.push(`5xx rate ${pct(c.errorRate)} (${c.errors5xx}/${c.responses}) against stable ${pct(s.errorRate)} (${s.errors5xx}/${s.responses}): +${pct(increase)}, more than maxErrorRateIncrease ${pct(t.maxErrorRateIncrease)}`)
  }
  // Dropped connections HAProxy retried elsewhere are no 5xx, but they are failures of the canary.
  const failureIncrease = (c.failureRate ?? 0) - (s.failureRate ?? 0)
  if (sumFailures(c.failures) > 0 && failureIncrease > t.maxErrorRateIncrease) {
    failed.push(
      `connection failures ${pct(c.failureRate ?? 0)} (${describeFailures(c.failures)}; ${c.responses} responses) against stable ${pct(s.failureRate ?? 0)} (${describeFailures(s.failures)}): +${pct(failureIncrease)}, more than maxErrorRateIncrease ${pct(t.maxErrorRateIncrease)}`,
    )
  }
  const base = Math.max(s.rtimeMs, LATENCY_FLOOR_MS)
  if (c.responses > 0 && s.responses > 0 && c.rtimeMs > t.maxLatencyFactor * base) {
    failed.push(`response time ${c.rtimeMs} ms against stable ${s.rtimeMs} ms: ${(c.rtimeMs / base).toFixed(1)}x, more than maxLatencyFactor ${t.maxLatencyFactor}`)
  }
  if (failed.length) return { verdict: 'failed', reasons: failed }
  return {
    verdict: 'passed',
    reasons: [`5xx ${pct(c.errorRate)} vs stable ${pct(s.errorRate)}, connection failures ${pct(c.failureRate ?? 0)} vs ${pct(s.failureRate ?? 0)}, response time ${c.rtimeMs} ms vs ${s.rtimeMs} ms, over ${c.responses} canary responses`],
  }
}

/** One line for humans and the history. */
export function describeCanary(a: CanaryAnalysis): string {
  const fig = (f: TrafficFigures) => `${f.responses} responses, ${f.errors5xx} 5xx (${pct(f.errorRate)}), ${f.failures ? `${sumFailures(f.failures)} connection failures (${pct(f.failureRate ?? 0)}), ` : ''}${f.rtimeMs} ms`
  const share = a.traffic ? ` at ${pct(a.traffic.asked)} of traffic (weights ${a.traffic.weights.canary}/${a.traffic.weights.stable}, received ${pct(a.traffic.received)})` : ''
  const steps = a.steps && a.steps.length > 1 ? ` [steps ${a.steps.map((s) => `${pct(s.asked)} ${s.verdict}`).join(', ')}]` : ''
  return `canary ${a.verdict}${share}${steps} after ${Math.round(a.windowMs / 1000)}s: canary ${fig(a.canary)}; stable ${fig(a.stable)}${a.verdict === 'failed' ? ` — ${a.reasons.join('; ')}` : ''}`
}
