/**
 * Traffic shares to HAProxy weights: pure. A canary's share of requests is set through weights,
 * so it does not depend on how many instances run: with smooth weighted round robin HAProxy sends
 * each server weight / (sum of weights) of the requests.
 */
import type { CanarySpec } from '../spec/types.js'

/** HAProxy's weight range (0-256) and the weight of an instance with no weight key. */
const MAX_WEIGHT = 256
const DEFAULT_WEIGHT = 100

/** "5%" → 0.05. */
export const parseShare = (share: string): number => parseFloat(share) / 100

/** The shares a weighted canary goes through (fractions), or undefined for a count-only canary. */
export function canaryShares(spec: Pick<CanarySpec, 'traffic' | 'steps'> | undefined): number[] | undefined {
  const steps = spec?.steps ?? (spec?.traffic ? [spec.traffic] : undefined)
  return steps?.map(parseShare)
}

export interface WeightSplit {
  /** Each canary instance's weight. */
  canary: number
  /** Each stable instance's weight. */
  stable: number
  /** The share of requests these weights give the canary: `share` as close as integer weights allow. */
  share: number
}

/**
 * Integer weights (0-256) that give `nCanary` canary instances `share` of the requests against
 * `nStable` stable ones. Stable instances keep the default weight 100 when that comes within 0.1
 * point of the share; otherwise (a large share: 50% against 9 stable needs 900 on one canary) the
 * pair closest to the share wins, the larger weights among equals (finer later steps). 100%: the
 * stable instances go to 0 (still checked by HAProxy, serving nothing).
 */
export function splitWeights(nCanary: number, nStable: number, share: number): WeightSplit {
  if (nCanary < 1) throw new Error('splitWeights: no canary instance')
  if (share >= 1 || nStable === 0) return { canary: DEFAULT_WEIGHT, stable: 0, share: 1 }
  const shareOf = (wc: number, ws: number) => (nCanary * wc) / (nCanary * wc + nStable * ws)
  const pick = (ws: number) => {
    const wc = Math.min(MAX_WEIGHT, Math.max(1, Math.round((share * nStable * ws) / ((1 - share) * nCanary))))
    return { canary: wc, stable: ws, share: shareOf(wc, ws) }
  }
  const atDefault = pick(DEFAULT_WEIGHT)
  if (Math.abs(atDefault.share - share) <= 0.001) return atDefault
  let best = atDefault
  for (let ws = MAX_WEIGHT; ws >= 1; ws--) {
    const c = pick(ws)
    if (Math.abs(c.share - share) < Math.abs(best.share - share) - 1e-12) best = c
  }
  return best
}
