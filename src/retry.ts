import pRetry, { AbortError } from 'p-retry'

/**
 * The one retry policy for transient Docker and etcd faults: a few quick attempts with
 * backoff (50, 100, 200, 400 ms: together longer than etcd3's per-host circuit breaker stays
 * open, so the last attempt can reach a member that was skipped). Typed ForrestErrors (bad
 * input, not found, conflicts) are never retried.
 */
export async function retryTransient<T>(
  fn: () => Promise<T>,
  isTransient: (err: unknown) => boolean,
  retries = 3,
  /** Called after each failed attempt that will be retried (attempt counts from 1). */
  onRetry?: (err: Error, attempt: number, attempts: number) => void,
): Promise<T> {
  return pRetry(
    async () => {
      try {
        return await fn()
      } catch (err) {
        if (!isTransient(err)) throw new AbortError(err as Error)
        throw err
      }
    },
    { retries, minTimeout: 50, maxTimeout: 800, factor: 2, ...(onRetry ? { onFailedAttempt: (e) => void (e.retriesLeft > 0 && onRetry(e, e.attemptNumber, retries + 1)) } : {}) },
  )
}
