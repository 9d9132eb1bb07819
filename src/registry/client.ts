import createDebug from 'debug'
import { noop } from 'cockatiel'
import { Etcd3 } from 'etcd3'

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
    // One retry policy in forrest (p-retry, in withEtcd): no second layer of retries or a
    // circuit breaker that would keep a recovered etcd unused for seconds. Watches keep
    // etcd3's own reconnect backoff.
    faultHandling: { global: noop, host: () => noop },
  })
}

