import { ForrestError } from '../errors.js'
import { retryTransient } from '../retry.js'

/** True for errors that mean "etcd did not answer" (as opposed to a bad request). */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  // etcd3's GRPCUnavailableError, GRPCDeadlineExceededError, GRPCConnectFailedError and friends.
  return /UNAVAILABLE|DEADLINE|ConnectFailed|ECONNREFUSED|ECONNRESET|No connection established/i.test(`${err.name} ${err.message}`)
}

export function etcdUnreachable(hosts: string[], cause: unknown): ForrestError {
  return new ForrestError('ETCD_UNREACHABLE', `etcd at ${hosts.join(',')} did not answer`, {
    cause,
    suggestion: 'Check ETCD_HOST (host:port, comma-separated for a cluster) and that etcd is running (scripts/dev-stack.sh starts one).',
  })
}

/**
 * Runs an etcd call with the shared retry policy for transient faults, mapping "no answer" to
 * a typed ETCD_UNREACHABLE error. Pass retries 0 for calls that must not repeat (a lock txn).
 */
export async function withEtcd<T>(hosts: string[], fn: () => Promise<T>, retries = 2): Promise<T> {
  try {
    return await retryTransient(fn, isUnreachable, retries)
  } catch (err) {
    if (err instanceof ForrestError) throw err
    if (isUnreachable(err)) throw etcdUnreachable(hosts, err)
    throw err
  }
}
