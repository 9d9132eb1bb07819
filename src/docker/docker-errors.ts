/** An error as dockerode / docker-modem throw it. */
export type DockerError = Error & { statusCode?: number; code?: string; json?: { message?: string } }

/** The engine's own message, without docker-modem's prefix. */
export function dockerMessage(err: unknown): string {
  const e = err as DockerError
  // docker-modem prefixes "(HTTP code 500) server error - " when the body was a stream.
  return (e?.json?.message ?? e?.message ?? String(err)).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim()
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE'])

/** No answer from the engine: a socket error, or (ssh://) the ssh connection failing. */
export function isUnreachable(err: unknown): boolean {
  const e = err as DockerError & { level?: string }
  return UNREACHABLE_CODES.has(e?.code ?? '') || e?.level !== undefined || /Timed out while waiting for handshake|authentication methods failed|Host denied/i.test(e?.message ?? '')
}

/** A fault worth one more try: a reset connection or an engine-side error. */
export function isTransient(err: unknown): boolean {
  const e = err as DockerError
  return e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || (e?.statusCode ?? 0) >= 500
}

/** DockerRuntime's call wrapper (deadline, retry of transient faults, DOCKER_UNREACHABLE), as the engine helpers take it. */
export type EngineCall = <T>(what: string, fn: () => Promise<T>, timeoutMs?: number) => Promise<T>
