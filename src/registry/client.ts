import { readFileSync } from 'node:fs'
import createDebug from 'debug'
import { noop } from 'cockatiel'
import { Etcd3, type IOptions } from 'etcd3'
import { etcdUrls, type EtcdSecurity } from '../config.js'
import { ForrestError } from '../errors.js'
import { memberPolicy } from './member-policy.js'

const debug = createDebug('forrest:etcd')

/** The etcd client, as the rest of src/ names it: etcd3 itself is imported only in src/registry/. */
export type EtcdClient = Etcd3

export interface EtcdTarget {
  hosts: string[]
  security?: EtcdSecurity
}

/**
 * One etcd client per process: every command and the gateway share it, so no step reconnects.
 * Calls get a deadline so an unreachable etcd is reported in seconds, not hung on.
 */
export function createEtcdClient(target: EtcdTarget | string[], opts: { callTimeoutMs?: number } = {}): Etcd3 {
  const { hosts, security = {} } = Array.isArray(target) ? { hosts: target } : target
  const urls = etcdUrls(hosts, security)
  debug('connecting to %o%s', urls, security.user ? ` as ${security.user}` : '')
  return new Etcd3({
    hosts: urls,
    ...credentialsOf(security),
    dialTimeout: 2000,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + (opts.callTimeoutMs ?? 5000) }),
    // One retry policy in forrest (p-retry, in withEtcd), no global retries; per member, a short
    // skip after a failure (member-policy.ts). Watches keep etcd3's own reconnect backoff.
    faultHandling: {
      global: noop,
      host: () => memberPolicy(urls.length),
    },
  })
}

/** TLS material and user/password for etcd3, read from the files named in the config. */
function credentialsOf(sec: EtcdSecurity): Pick<IOptions, 'credentials' | 'auth'> {
  const out: Pick<IOptions, 'credentials' | 'auth'> = {}
  if (sec.caFile || sec.certFile) {
    out.credentials = {
      rootCertificate: sec.caFile ? readSecurityFile(sec.caFile, 'etcd CA (ETCDCTL_CACERT / --etcd-cacert)') : (undefined as unknown as Buffer),
      ...(sec.certFile && sec.keyFile
        ? { certChain: readSecurityFile(sec.certFile, 'etcd client certificate (ETCDCTL_CERT / --etcd-cert)'), privateKey: readSecurityFile(sec.keyFile, 'etcd client key (ETCDCTL_KEY / --etcd-key)') }
        : {}),
    }
  }
  if (sec.user) {
    const password = sec.passwordFile ? readSecurityFile(sec.passwordFile, 'etcd password file (FORREST_ETCD_PASSWORD_FILE / --etcd-password-file)').toString('utf8').replace(/\r?\n$/, '') : (sec.password ?? '')
    out.auth = { username: sec.user, password }
  }
  return out
}

function readSecurityFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new ForrestError('BAD_INPUT', `cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      suggestion: 'Point it at a readable PEM file (the same files etcdctl uses).',
    })
  }
}
