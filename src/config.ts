import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { ForrestError } from './errors.js'

/** Settings every command shares, from flags first, then the original env names, then defaults. */
export interface ForrestConfig {
  etcdHosts: string[]
  /** etcd prefix for instance keys, without leading/trailing slashes (e.g. "app/servers"). */
  prefix: string
  /** The address announced in etcd. */
  ip: string
  /** Where the announce address came from, so commands can say so. */
  ipSource: 'flag' | 'FORREST_IP' | 'detected'
  /** Host address published ports bind to: the announce address if it is loopback, else all. */
  bindIp: string
  /** Root of forrest's own records in etcd (revisions, locks, gateways). */
  recordsRoot: string
  /** Extra labels on every container forrest creates (FORREST_LABELS=k=v,k2=v2). */
  extraLabels: Record<string, string>
}

export interface ConfigFlags {
  etcd?: string
  prefix?: string
  ip?: string
}

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

export function normalizePrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '')
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

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip === 'localhost'
}

/** Where forrest itself reaches published ports: the bind address, or loopback when bound to all. */
export function probeHostOf(config: Pick<ForrestConfig, 'bindIp'>): string {
  return config.bindIp === '0.0.0.0' ? '127.0.0.1' : config.bindIp
}

export function resolveConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}, ifaces: Interfaces = networkInterfaces()): ForrestConfig {
  const etcdHosts = parseEtcdHosts(flags.etcd ?? env.ETCD_HOST ?? '127.0.0.1:2379')
  const prefix = normalizePrefix(flags.prefix ?? env.ETCD_PREFIX ?? 'app/servers')
  if (!prefix) throw new ForrestError('BAD_INPUT', 'ETCD_PREFIX is empty', { suggestion: 'Use a path like app/servers.' })
  let ip: string
  let ipSource: ForrestConfig['ipSource']
  if (flags.ip) [ip, ipSource] = [flags.ip, 'flag']
  else if (env.FORREST_IP) [ip, ipSource] = [env.FORREST_IP, 'FORREST_IP']
  else [ip, ipSource] = [detectIp(ifaces), 'detected']
  if (!IPV4.test(ip) || ip.split('.').some((o) => Number(o) > 255)) {
    throw new ForrestError('BAD_INPUT', `FORREST_IP "${ip}" is not an IPv4 address`, { suggestion: 'Set FORREST_IP to the address the load balancer reaches this host on.' })
  }
  return {
    etcdHosts,
    prefix,
    ip,
    ipSource,
    bindIp: isLoopback(ip) ? ip : '0.0.0.0',
    recordsRoot: normalizePrefix(env.FORREST_ROOT ?? 'forrest'),
    extraLabels: parseLabels(env.FORREST_LABELS),
  }
}
