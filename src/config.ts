import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { ForrestError } from './errors.js'

/**
 * How forrest authenticates to etcd, named as etcdctl and confd users know it: a CA, a client
 * certificate and key (mutual TLS), a user and password. Files are read when the client is made.
 */
export interface EtcdSecurity {
  caFile?: string
  certFile?: string
  keyFile?: string
  user?: string
  /** Never printed: from ETCDCTL_PASSWORD, `user:password` in ETCDCTL_USER, or a file. */
  password?: string
  passwordFile?: string
}

/** Settings every command shares, from flags first, then the original env names, then defaults. */
export interface ForrestConfig {
  etcdHosts: string[]
  etcdSecurity: EtcdSecurity
  /** etcd prefix for instance keys, without leading/trailing slashes (e.g. "app/servers"). */
  prefix: string
  /** Where the prefix came from: a deploy joins another app's prefix only when it was chosen (not the default). */
  prefixSource: 'flag' | 'ETCD_PREFIX' | 'default'
  /** The address announced in etcd. */
  ip: string
  /** Where the announce address came from, so commands can say so. */
  ipSource: 'flag' | 'FORREST_IP' | 'detected'
  /** Host address published ports bind to: FORREST_BIND_IP, else the announced address. */
  bindIp: string
  /** FORREST_BIND_IP when set: then it wins over a deployment file's announce.address too. */
  bindOverride?: string
  /** TTL of the deploy lock's etcd lease (FORREST_LOCK_TTL seconds, default 10). */
  lockTtlSec: number
  /** Root of forrest's own records in etcd (revisions, locks, gateways). */
  recordsRoot: string
  /** Extra labels on every container forrest creates (FORREST_LABELS=k=v,k2=v2). */
  extraLabels: Record<string, string>
}

export interface ConfigFlags {
  etcd?: string
  prefix?: string
  ip?: string
  'etcd-cacert'?: string
  'etcd-cert'?: string
  'etcd-key'?: string
  'etcd-user'?: string
  'etcd-password-file'?: string
}

/**
 * etcd security from flags, else etcdctl's environment variables (ETCDCTL_CACERT, ETCDCTL_CERT,
 * ETCDCTL_KEY, ETCDCTL_USER as `user` or `user:password`, ETCDCTL_PASSWORD), else forrest's
 * FORREST_ETCD_PASSWORD_FILE. A password is never taken from a flag: flags show in `ps`.
 */
export function resolveEtcdSecurity(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): EtcdSecurity {
  const sec: EtcdSecurity = {}
  const caFile = flags['etcd-cacert'] ?? env.ETCDCTL_CACERT
  const certFile = flags['etcd-cert'] ?? env.ETCDCTL_CERT
  const keyFile = flags['etcd-key'] ?? env.ETCDCTL_KEY
  if (caFile) sec.caFile = caFile
  if (certFile) sec.certFile = certFile
  if (keyFile) sec.keyFile = keyFile
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new ForrestError('BAD_INPUT', `etcd client certificate and key go together: got ${certFile ? 'a certificate (ETCDCTL_CERT / --etcd-cert) without a key' : 'a key (ETCDCTL_KEY / --etcd-key) without a certificate'}`, {
      suggestion: 'Set both ETCDCTL_CERT and ETCDCTL_KEY (or --etcd-cert and --etcd-key), or neither.',
    })
  }
  const userSpec = flags['etcd-user'] ?? env.ETCDCTL_USER
  if (userSpec) {
    const colon = userSpec.indexOf(':')
    sec.user = colon >= 0 ? userSpec.slice(0, colon) : userSpec
    if (colon >= 0) sec.password = userSpec.slice(colon + 1)
    if (!sec.user) throw new ForrestError('BAD_INPUT', 'the etcd user name is empty', { suggestion: 'Set ETCDCTL_USER=name (and ETCDCTL_PASSWORD), or --etcd-user name.' })
  }
  if (env.ETCDCTL_PASSWORD !== undefined && sec.password === undefined) sec.password = env.ETCDCTL_PASSWORD
  const passwordFile = flags['etcd-password-file'] ?? env.FORREST_ETCD_PASSWORD_FILE
  if (passwordFile) sec.passwordFile = passwordFile
  if ((sec.password !== undefined || passwordFile) && !sec.user) {
    throw new ForrestError('BAD_INPUT', 'an etcd password was given without a user', { suggestion: 'Set ETCDCTL_USER (or --etcd-user) too.' })
  }
  return sec
}

/** With a CA or client certificate, an endpoint written without a scheme means https. */
export function etcdUrls(hosts: string[], sec: EtcdSecurity): string[] {
  const tls = Boolean(sec.caFile || sec.certFile)
  return hosts.map((h) => (h.includes('://') ? h : `${tls ? 'https' : 'http'}://${h}`))
}

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

/**
 * The one spelling of an etcd prefix: no leading, trailing or doubled slashes ("/app//servers/"
 * → "app/servers"). Every prefix (file, --prefix, ETCD_PREFIX, FORREST_ROOT, recorded specs)
 * goes through here, so keys are always `/<prefix>/<name>`.
 */
export function normalizePrefix(prefix: string): string {
  return prefix.split('/').filter(Boolean).join('/')
}

/** An instance prefix inside forrest's records root (or around it) would mix instances and records. */
export function checkPrefixAgainstRoot(prefix: string, root: string, what: string): void {
  const [p, r] = [normalizePrefix(prefix), normalizePrefix(root)]
  if (p === r || p.startsWith(`${r}/`) || r.startsWith(`${p}/`)) {
    throw new ForrestError('BAD_INPUT', `${what} "${prefix}" overlaps forrest's records root "/${r}/"`, {
      suggestion: `Register instances under a prefix outside /${r}/, e.g. app/servers (or set FORREST_ROOT to another root).`,
    })
  }
}

export function parseEtcdHosts(value: string): string[] {
  const hosts = value.split(',').map((h) => h.trim()).filter(Boolean)
  for (const h of hosts) {
    const hostPort = h.replace(/^https?:\/\//, '')
    if (!/^[^:/\s]+:\d{1,5}$/.test(hostPort)) {
      throw new ForrestError('BAD_INPUT', `ETCD_HOST entry "${h}" is not host:port`, {
        suggestion: 'Use host:port, or a comma-separated list like 10.0.0.1:2379,10.0.0.2:2379.',
      })
    }
  }
  if (hosts.length === 0) throw new ForrestError('BAD_INPUT', 'ETCD_HOST is empty', { suggestion: 'Unset it to use 127.0.0.1:2379.' })
  return hosts
}

export function parseLabels(value: string | undefined, what = 'FORREST_LABELS'): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const pair of (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new ForrestError('BAD_INPUT', `${what} entry "${pair}" is not key=value`, { suggestion: 'Write key=value, comma-separated.' })
    labels[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return labels
}

/** First non-internal IPv4 address, else loopback: the address other hosts most likely reach us on. */
export function detectIp(ifaces: Interfaces): string {
  for (const list of Object.values(ifaces)) {
    for (const i of list ?? []) if (i.family === 'IPv4' && !i.internal && !i.address.startsWith('169.254.')) return i.address
  }
  return '127.0.0.1'
}

const isIpv4 = (ip: string) => IPV4.test(ip) && ip.split('.').every((o) => Number(o) <= 255)

/** Where published ports bind for an instance announced at `address`: FORREST_BIND_IP, else that address. */
export function bindIpFor(config: Pick<ForrestConfig, 'bindOverride'>, address: string): string {
  return config.bindOverride ?? address
}

/** Where forrest itself reaches published ports: the bind address, or the announced one when bound to all. */
export function probeHostOf(bindIp: string, address: string): string {
  return bindIp === '0.0.0.0' ? address : bindIp
}

export function resolveConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}, ifaces: Interfaces = networkInterfaces()): ForrestConfig {
  const etcdHosts = parseEtcdHosts(flags.etcd ?? env.ETCD_HOST ?? '127.0.0.1:2379')
  const prefix = normalizePrefix(flags.prefix ?? env.ETCD_PREFIX ?? 'app/servers')
  if (!prefix) throw new ForrestError('BAD_INPUT', 'ETCD_PREFIX is empty', { suggestion: 'Use a path like app/servers.' })
  const recordsRoot = normalizePrefix(env.FORREST_ROOT ?? 'forrest')
  if (!recordsRoot) throw new ForrestError('BAD_INPUT', 'FORREST_ROOT is empty', { suggestion: 'Unset it to use forrest.' })
  checkPrefixAgainstRoot(prefix, recordsRoot, flags.prefix ? '--prefix' : 'ETCD_PREFIX')
  let ip: string
  let ipSource: ForrestConfig['ipSource']
  if (flags.ip) [ip, ipSource] = [flags.ip, 'flag']
  else if (env.FORREST_IP) [ip, ipSource] = [env.FORREST_IP, 'FORREST_IP']
  else [ip, ipSource] = [detectIp(ifaces), 'detected']
  if (!isIpv4(ip)) {
    throw new ForrestError('BAD_INPUT', `FORREST_IP "${ip}" is not an IPv4 address`, { suggestion: 'Set FORREST_IP to the address the load balancer reaches this host on.' })
  }
  const bindOverride = env.FORREST_BIND_IP || undefined
  if (bindOverride !== undefined && !isIpv4(bindOverride)) {
    throw new ForrestError('BAD_INPUT', `FORREST_BIND_IP "${bindOverride}" is not an IPv4 address`, { suggestion: 'Unset it to bind published ports to the announced address, or use 0.0.0.0 for every interface.' })
  }
  const lockTtlSec = Number(env.FORREST_LOCK_TTL ?? 10)
  if (!Number.isInteger(lockTtlSec) || lockTtlSec < 2 || lockTtlSec > 300) {
    throw new ForrestError('BAD_INPUT', `FORREST_LOCK_TTL "${env.FORREST_LOCK_TTL}" is not a whole number of seconds from 2 to 300`, { suggestion: 'Unset it for the default of 10 seconds.' })
  }
  return {
    etcdHosts,
    etcdSecurity: resolveEtcdSecurity(env, flags),
    prefix,
    prefixSource: flags.prefix ? 'flag' : env.ETCD_PREFIX ? 'ETCD_PREFIX' : 'default',
    ip,
    ipSource,
    bindIp: bindOverride ?? ip,
    ...(bindOverride ? { bindOverride } : {}),
    lockTtlSec,
    recordsRoot,
    extraLabels: parseLabels(env.FORREST_LABELS),
  }
}
