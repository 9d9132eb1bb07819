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

const UNIT_WORDS: Record<string, Unit> = { ms: 'ms', msec: 'ms', msecs: 'ms', millisecond: 'ms', milliseconds: 'ms', s: 's', sec: 's', secs: 's', second: 's', seconds: 's', m: 'm', min: 'm', mins: 'm', minute: 'm', minutes: 'm', h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h' }

/**
 * The duration a value that is not one most likely meant: a bare 2 → "2s" (500 and up read as
 * milliseconds → "500ms"), "2 sec" → "2s", "1.5s" → "1500ms". Undefined when there is no good guess.
 */
export function guessDuration(input: unknown): string | undefined {
  const text = typeof input === 'number' ? String(input) : typeof input === 'string' ? input.trim().toLowerCase() : undefined
  const m = text === undefined ? null : /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(text)
  if (!m) return undefined
  const amount = Number(m[1])
  const unit: Unit | undefined = m[2] ? UNIT_WORDS[m[2]] : amount >= 500 ? 'ms' : 's'
  if (!unit || !Number.isFinite(amount)) return undefined
  const ms = amount * UNIT_MS[unit]
  if (!Number.isInteger(ms)) return undefined
  return Number.isInteger(amount) ? `${amount}${unit}` : formatDuration(ms)
}

/** The message for a value that is not a duration: a guess at what was meant, else the general hint. */
export function durationMistake(input: unknown): string {
  const guess = guessDuration(input)
  if (typeof input === 'number') return `a bare number is ambiguous (seconds or milliseconds?): ${guess ? `did you mean ${guess}?` : DURATION_HINT}`
  return `expected a duration like "500ms", "10s", "2m", "1h" or "1m30s"; ${guess ? `did you mean ${guess}?` : DURATION_HINT}`
}
