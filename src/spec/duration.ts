/**
 * Durations in deployment specs are strings with units ("500ms", "10s", "2m", "1h", "1m30s"),
 * never bare numbers: a bare `10` could mean seconds or milliseconds, so it is rejected.
 */

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const
type Unit = keyof typeof UNIT_MS

/** Units largest first, each at most once: "1h30m", "1m30s", "1s500ms". */
export const DURATION_PATTERN = '^(?=\\d)(\\d+h)?(\\d+m(?!s))?(\\d+s)?(\\d+ms)?$'
/** The same, with a digit other than 0 somewhere: more than 0 ms. */
export const POSITIVE_DURATION_PATTERN = `^(?=.*[1-9])${DURATION_PATTERN.slice(1)}`
const DURATION_RE = new RegExp(DURATION_PATTERN)

/** The longest duration a spec may hold. */
export const MAX_DURATION = '24h'
export const MAX_DURATION_MS = 24 * 3_600_000
const PART_RE = /(\d+)(ms|h|m|s)/g

export const DURATION_HINT = 'write 10s or 500ms'

/** Milliseconds for a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined
  let ms = 0
  for (const [, amount, unit] of text.matchAll(PART_RE)) ms += Number(amount) * UNIT_MS[unit as Unit]
  return ms
}

/** The shortest duration string for a number of milliseconds: 90000 → "1m30s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  let rest = Math.round(ms)
  let out = ''
  for (const unit of ['h', 'm', 's', 'ms'] as const) {
    const n = Math.floor(rest / UNIT_MS[unit])
    if (n > 0) out += `${n}${unit}`
    rest -= n * UNIT_MS[unit]
  }
  return out
}
