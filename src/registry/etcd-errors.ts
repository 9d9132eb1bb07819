import { ForrestError } from '../errors.js'
import { retryTransient } from '../retry.js'
import { notice } from '../notices.js'
import { etcdRefusal } from './etcd-refusal.js'

const shortReason = (err: Error) => err.message.replace(/^\d+ [A-Z_]+: /, '').split(',')[0]!.slice(0, 80)

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
    suggestion: START_ETCD,
  })
}

/** How to point forrest at etcd or start one, without anything from forrest's repository. */
export const START_ETCD =
  "Check ETCD_HOST (or --etcd): host:port of etcd's client URL, comma-separated for a cluster, and that etcd is running there. " +
  'For a local one: docker run -d --name etcd -p 127.0.0.1:2379:2379 gcr.io/etcd-development/etcd:v3.5.17 etcd --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://127.0.0.1:2379'

/** gRPC got an HTTP answer that is not gRPC ("Received HTTP status code 501"): the endpoint is some other HTTP server. */
export function notEtcd(hosts: string[], err: unknown): ForrestError | undefined {
  const status = err instanceof Error ? /Received HTTP status code (\d+)/.exec(err.message)?.[1] : undefined
  if (!status) return undefined
  return notEtcdError(hosts.join(','), `it answered etcd's gRPC API with HTTP status ${status}`, err)
}

export function notEtcdError(endpoint: string, answered: string, cause?: unknown): ForrestError {
  return new ForrestError('ETCD_NOT_ETCD', `${endpoint} is not etcd: ${answered}`, {
    cause,
    suggestion: "Point ETCD_HOST (or --etcd) at etcd's client URL (port 2379 unless etcd was started with another --listen-client-urls), not at another HTTP server.",
  })
}

/**
 * Runs an etcd call with the shared retry policy for transient faults, mapping "no answer" to
 * a typed ETCD_UNREACHABLE error and refusals to their own typed errors. Pass retries 0 for
 * calls that must not repeat (a lock txn).
 */
export async function withEtcd<T>(hosts: string[], fn: () => Promise<T>, retries = 4, what?: string): Promise<T> {
  try {
    return await retryTransient(fn, isUnreachable, retries, (err, attempt, attempts) =>
      // Calls time out after seconds each: say why the command sits still (once for parallel calls).
      notice(`etcd at ${hosts.join(',')} is not answering (${shortReason(err)}); retrying, attempt ${attempt + 1} of ${attempts}`, { topic: 'etcd-retry', everyMs: 3000 }),
    )
  } catch (err) {
    if (err instanceof ForrestError) throw err
    const refusal = etcdRefusal(err, what) ?? notEtcd(hosts, err)
    if (refusal) throw refusal
    if (isUnreachable(err)) throw etcdUnreachable(hosts, err)
    throw err
  }
}
