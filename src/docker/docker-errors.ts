/** An error as dockerode / docker-modem throw it. */
export type DockerError = Error & { statusCode?: number; code?: string; json?: { message?: string } }

/** The engine's own message, without docker-modem's prefix. */
export function dockerMessage(err: unknown): string {
  const e = err as DockerError
  // docker-modem prefixes "(HTTP code 500) server error - " when the body was a stream.
  return (e?.json?.message ?? e?.message ?? String(err)).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim()
}
