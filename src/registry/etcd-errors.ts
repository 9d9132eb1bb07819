import { ForrestError } from '../errors.js'
import { retryTransient } from '../retry.js'
import { etcdRefusal } from './etcd-refusal.js'

/** True for errors that mean "etcd did not answer" (as opposed to a bad request). */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  // etcd3's GRPCUnavailableError, GRPCDeadlineExceededError, GRPCConnectFailedError and friends;
  // "circuit breaker is open": every member failed a moment ago (a leader election, a restart).
  return /UNAVAILABLE|DEADLINE|ConnectFailed|ECONNREFUSED|ECONNRESET|No connection established|circuit breaker is open|leader changed|no leader/i.test(`${err.name} ${err.message}`)
}

export function etcdUnreachable(hosts: string[], cause: unknown): ForrestError {
  return new ForrestError('ETCD_UNREACHABLE', `etcd at ${hosts.join(',')} did not answer`, {
    cause,
    suggestion: 'Check ETCD_HOST (host:port, comma-separated for a cluster) and that etcd is running (scripts/dev-stack.sh starts one).',
  })
}

/**
 * Runs an etcd call with the shared retry policy for transient faults, mapping "no answer" to
 * a typed ETCD_UNREACHABLE error and refusals to their own typed errors. Pass retries 0 for
 * calls that must not repeat (a lock txn).
 */
export async function withEtcd<T>(hosts: string[], fn: () => Promise<T>, retries = 4, what?: string): Promise<T> {
  try {
    return await retryTransient(fn, isUnreachable, retries)
  } catch (err) {
    if (err instanceof ForrestError) throw err
    const refusal = etcdRefusal(err, what)
    if (refusal) throw refusal
    if (isUnreachable(err)) throw etcdUnreachable(hosts, err)
    throw err
  }
}
