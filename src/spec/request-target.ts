/**
 * health.path as an HTTP request target in origin-form (RFC 9112 §3.2.1): what a probe and
 * HAProxy's `option httpchk` send after "GET ". Node refuses anything else at request time
 * ("unescaped characters"), after a revision was recorded and a container created; checking
 * here refuses it at validation, before anything is touched.
 *
 *   origin-form = absolute-path [ "?" query ]
 *   absolute-path = 1*( "/" segment ),  segment = *pchar,  query = *( pchar / "/" / "?" )
 *   pchar = unreserved / pct-encoded / sub-delims / ":" / "@"
 */
const PCHAR = "[A-Za-z0-9\\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2}"

/** The same rule as a JSON Schema pattern (published in schema/), for editors. */
export const REQUEST_TARGET_PATTERN = `^(?:/(?:${PCHAR})*)+(?:\\?(?:${PCHAR}|[/?])*)?$`
const REQUEST_TARGET_RE = new RegExp(REQUEST_TARGET_PATTERN)
const ALLOWED_CHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/

const codePoint = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`

/** Why `path` is not an origin-form request target (positions count from 1), or undefined. */
export function requestTargetProblem(path: string): string | undefined {
  if (REQUEST_TARGET_RE.test(path)) return undefined
  if (!path.startsWith('/')) return `must start with "/", e.g. /healthz (a path on the instance, not a URL), got ${JSON.stringify(path)}`
  const chars = [...path]
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!
    const at = `at position ${i + 1}`
    if (ch === ' ') return `contains a space ${at}; write it as %20`
    if (/[\u0000-\u001f\u007f]/.test(ch)) return `contains a control character ${codePoint(ch)} ${at}; remove it`
    if (ch === '%') {
      const hex = chars.slice(i + 1, i + 3).join('')
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return `invalid percent-encoding "%${hex}" ${at}: "%" must be followed by two hex digits (write a literal "%" as %25)`
      continue
    }
    if (ch === '#') return `contains "#" ${at}: a fragment is never sent to the server; remove it`
    if (!ALLOWED_CHAR.test(ch)) return `contains ${JSON.stringify(ch)} ${at}, which a request target cannot carry as it is; percent-encode it (${encodeURIComponent(ch)})`
  }
  return 'is not an HTTP request target; write a path like /healthz or /status?full=1'
}
