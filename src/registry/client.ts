import createDebug from 'debug'
import { Etcd3, isRecoverableError } from 'etcd3'
import { ForrestError } from '../errors.js'

const debug = createDebug('forrest:etcd')

/**
 * One etcd client per process: every command and the gateway share it, so no step reconnects.
 * Calls get a deadline so an unreachable etcd is reported in seconds, not hung on.
 */
export function createEtcdClient(hosts: string[], opts: { callTimeoutMs?: number } = {}): Etcd3 {
  debug('connecting to %o', hosts)
  return new Etcd3({
    hosts: hosts.map((h) => (h.includes('://') ? h : `http://${h}`)),
    dialTimeout: 2000,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + (opts.callTimeoutMs ?? 5000) }),
  })
}

/** True for errors that mean "etcd did not answer" (as opposed to a bad request). */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (isRecoverableError(err)) return true
  return /UNAVAILABLE|DEADLINE|ECONNREFUSED|unavailable|deadline/i.test(`${err.name} ${err.message}`)
}

export function etcdUnreachable(hosts: string[], cause: unknown): ForrestError {
  return new ForrestError('ETCD_UNREACHABLE', `etcd at ${hosts.join(',')} did not answer`, {
    cause,
    suggestion: 'Check ETCD_HOST (host:port, comma-separated for a cluster) and that etcd is running (scripts/dev-stack.sh starts one).',
  })
}

/** Runs an etcd call, mapping "no answer" to a typed ETCD_UNREACHABLE error. */
export async function withEtcd<T>(hosts: string[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof ForrestError) throw err
    if (isUnreachable(err)) throw etcdUnreachable(hosts, err)
    throw err
  }
}
