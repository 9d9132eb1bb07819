/**
 * Turning zod issues into messages that name the fix. Schema-level messages (schema.ts) win;
 * this error map covers the generic cases (wrong type, out of range, not one of).
 */
import type { z } from 'zod'
import { composeKeyHint } from './container.js'
import { KNOWN_KEYS } from './schema.js'

/** Sentinel the formatter rewrites into "missing required key 'x'" once the full path is known. */
export const REQUIRED = 'required'

const article = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`)

const EXPECTED_NAMES: Record<string, string> = {
  int: 'integer',
  number: 'number',
  string: 'string',
  boolean: 'boolean (true or false)',
  array: 'list',
  object: 'mapping',
  record: 'mapping',
}

/** How a value the user wrote reads in a message. */
export function describeValue(input: unknown): string {
  if (input === null) return 'nothing (null)'
  if (Array.isArray(input)) return 'a list'
  if (typeof input === 'object') return 'a mapping'
  if (typeof input === 'string') return `the string "${input}"`
  if (typeof input === 'number') return `the number ${input}`
  return String(input)
}

const bound = (iss: { inclusive?: boolean }, strict: string, inclusive: string) => (iss.inclusive === false ? strict : inclusive)

export const errorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return REQUIRED
      return `expected ${article(EXPECTED_NAMES[iss.expected] ?? iss.expected)}, got ${describeValue(iss.input)}`
    case 'too_small':
      if (iss.origin === 'number' || iss.origin === 'int') return `must be ${bound(iss, '>', '>=')} ${String(iss.minimum)}, got ${String(iss.input)}`
      return Number(iss.minimum) <= 1 ? 'must not be empty' : `must have at least ${String(iss.minimum)} entries`
    case 'too_big':
      if (iss.origin === 'number' || iss.origin === 'int') return `must be ${bound(iss, '<', '<=')} ${String(iss.maximum)}, got ${String(iss.input)}`
      return `must have at most ${String(iss.maximum)} entries`
    case 'invalid_value': {
      const allowed = iss.values.map((v) => `"${String(v)}"`).join(', ')
      const guess = typeof iss.input === 'string' ? didYouMean(iss.input, iss.values.map(String)) : ''
      return `expected one of ${allowed}, got ${describeValue(iss.input)}${guess}`
    }
    default:
      return undefined
  }
}

/** " (did you mean 'replicas'?)" when a close candidate exists, else "". */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '')
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const d = norm(word) === norm(candidate) ? 0 : levenshtein(word.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) [best, bestDistance] = [candidate, d]
  }
  const tolerance = Math.max(1, Math.floor(word.length / 3))
  return best !== undefined && bestDistance <= tolerance ? ` (did you mean '${best}'?)` : ''
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/** Message for an unknown key at `parentPath`: a close match if there is one, else the allowed keys. */
export function unknownKeyMessage(key: string, parentPath: ReadonlyArray<PropertyKey>): string {
  const compose = composeKeyHint(key, parentPath.map(String).join('.'))
  if (compose) return compose
  // processes.<name>.x has a process's keys, whatever the name.
  const path = parentPath[0] === 'processes' && parentPath.length >= 2 ? ['process', ...parentPath.slice(2)] : parentPath
  const known = KNOWN_KEYS[path.map(String).join('.')] ?? []
  const guess = didYouMean(key, known)
  if (guess) return `unknown key '${key}'${guess}`
  return known.length > 0 ? `unknown key '${key}' (allowed: ${known.join(', ')})` : `unknown key '${key}'`
}

/** "update.maxSurge", "command[1]", 'labels["com.example/x"]'. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(root)'
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(segment))) out += out ? `.${String(segment)}` : String(segment)
    else out += `[${JSON.stringify(String(segment))}]`
  }
  return out
}
