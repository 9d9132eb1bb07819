import { access, writeFile } from 'node:fs/promises'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { ForrestError } from '../errors.js'
import { DEFAULT_CHECK_INTERVAL_MS } from '../gateway/check-params.js'
import { startRoutes } from '../gateway/multi-gateway.js'
import { parseRoutes, type Route } from '../gateway/routes.js'
import type { GatewayEvent, GatewayHandle } from '../gateway/types.js'
import { GatewayMetrics } from '../gateway/metrics.js'
import { preflight } from '../gateway/preflight.js'
import { parseListenAddress, startServiceListener, type ServiceListener } from '../gateway/service-http.js'
import { DEFAULT_STARTER, renderStarterConfig } from '../gateway/haproxy-config.js'
import { gatewayAckPrefix } from '../registry/gateway-acks.js'
import { formatDuration, parseDuration } from '../spec/duration.js'

export interface GatewayResult {
  id?: string
  appliedRevision?: number
  configWritten?: string
  /** --check: what was checked, one line each. */
  checked?: string[]
}

export default class Gateway extends BaseCommand {
  static summary = 'Keep a running HAProxy in step with the instances in etcd, through its admin socket, without reloads.'
  static description = `Watches /<prefix>/ and adds each instance to the HAProxy backend as a dynamic server, held DOWN until HAProxy's own HTTP check passes (typically 25-60 ms after the announce); withdrawn instances are drained, then deleted. Publishes the applied etcd revision under a lease at /<root>/gateways/<prefix>/<id>: a revision is acked only when every change up to it is in HAProxy (new servers checked, withdrawn ones deleted with no request left on them), which is what \`forrest deploy\` waits for before stopping a container. With --init-config, writes a starter haproxy.cfg and exits.

Reloads: servers added at runtime are not in haproxy.cfg, so a reloaded HAProxy starts with an empty backend and answers 503 until the gateway re-adds them (a few hundred ms). Pass --servers-file haproxy.cfg (with the forrest:servers marker block --init-config writes) and the gateway keeps the live servers in the file too, so a reload starts with them and drops nothing.`
  static examples = [
    '<%= config.bin %> gateway --init-config haproxy.cfg --socket /run/haproxy/admin.sock',
    '<%= config.bin %> gateway --socket /run/haproxy/admin.sock --backend app',
    '<%= config.bin %> gateway --socket /run/haproxy/admin.sock --servers-file /etc/haproxy/haproxy.cfg',
  ]
  static flags = {
    socket: Flags.string({ description: 'HAProxy admin socket (stats socket ... level admin)', helpValue: 'SOCK' }),
    backend: Flags.string({ description: 'HAProxy backend the gateway owns (default app)' }),
    route: Flags.string({
      description: 'Serve this prefix from this backend; repeat for several apps behind one HAProxy, each acknowledged for its own prefix (instead of --prefix/--backend). With --init-config: one backend per route, chosen by Host header',
      helpValue: 'PREFIX=BACKEND',
      multiple: true,
    }),
    id: Flags.string({ description: 'Gateway id in the acks (default: hostname-pid)' }),
    'servers-file': Flags.string({ description: 'Keep the live servers in this HAProxy config file, between the forrest:servers markers inside the --backend section (required there; other backends\' blocks are left alone), so reloads keep them', helpValue: 'FILE' }),
    'drain-timeout': Flags.integer({ description: 'Seconds a withdrawn server may keep sessions before they are shut down', default: 30, min: 0 }),
    'check-interval': Flags.string({
      description: "HAProxy's check period of a live server (inter): one HTTP request per instance per period, even idle. New servers are checked every 25 ms until up, and a connection that traffic fails to open triggers a check at once, whatever this is",
      default: formatDuration(DEFAULT_CHECK_INTERVAL_MS),
      helpValue: 'DURATION',
    }),
    'init-config': Flags.string({ description: 'Write a starter haproxy.cfg to FILE and exit', helpValue: 'FILE' }),
    listen: Flags.string({ description: 'With --init-config: frontend bind address', default: DEFAULT_STARTER.frontendBind }),
    force: Flags.boolean({ description: 'With --init-config: overwrite FILE' }),
    'tls-certs': Flags.string({ description: "With --init-config: terminate TLS with the certificates in DIR (HAProxy's crt directory) on --tls-listen, and redirect --listen's HTTP to HTTPS", helpValue: 'DIR' }),
    'tls-listen': Flags.string({ description: 'With --init-config --tls-certs: HTTPS bind address', default: '0.0.0.0:443' }),
    metrics: Flags.string({ description: 'Serve Prometheus metrics (/metrics), liveness (/healthz) and readiness (/readyz) on this address', helpValue: 'HOST:PORT' }),
    check: Flags.boolean({ description: 'Check the HAProxy socket, backend, servers file and etcd permissions, print what was checked, and exit (0: all good)' }),
  }

  async run(): Promise<GatewayResult> {
    const { flags } = await this.parse(Gateway)
    const checkIntervalMs = checkInterval(flags['check-interval'])
    if (flags['tls-certs'] && !flags['init-config']) {
      throw new ForrestError('BAD_INPUT', '--tls-certs goes with --init-config (it writes the TLS frontend into the starter haproxy.cfg)', {
        suggestion: 'Add --init-config FILE, or drop --tls-certs: a running gateway does not touch TLS (README › TLS at the edge).',
      })
    }
    const config = this.forrestConfig(flags)
    const routes = this.routes(flags, config)
    if (flags['init-config']) return this.initConfig(flags['init-config'], { ...flags, routes, checkIntervalMs })
    if (flags.metrics) parseListenAddress(flags.metrics) // bad input: exit 2 before anything starts
    // The gauges (desired servers, applied revision, verdicts) are one gateway's: several routes would overwrite each other's.
    if (flags.metrics && routes.length > 1) {
      throw new ForrestError('BAD_INPUT', '--metrics describes one route; with several --route nothing was started', {
        suggestion: 'Drop --metrics, or run one gateway per app (--prefix/--backend) each with its own --metrics address.',
      })
    }
    if (!flags.socket) throw new ForrestError('BAD_INPUT', '--socket is required', { suggestion: 'Pass the HAProxy admin socket path, e.g. --socket /run/haproxy/admin.sock.' })
    const { createEtcdClient } = await import('../registry/client.js') // lazy: keeps CLI start-up fast
    // A 2 s deadline on each etcd call (5 s elsewhere): a deploy waits 5 s for the gateway's ack,
    // so a pass whose ack write went to a member stuck without a leader must give up in time for
    // the next pass to write it through another member.
    const client = createEtcdClient({ hosts: config.etcdHosts, security: config.etcdSecurity }, { callTimeoutMs: 2000 })
    const json = this.jsonEnabled()
    const print = (e: GatewayEvent) => {
      const line = json ? JSON.stringify(e) : formatEvent(e)
      if (line) process.stdout.write(`${line}\n`)
    }
    let service: ServiceListener | undefined
    try {
      if (flags.check) {
        const checked: string[] = []
        for (const r of routes) {
          const report = await preflight({ client, socketPath: flags.socket, backend: r.backend, prefix: r.prefix, recordsRoot: config.recordsRoot, serversFile: flags['servers-file'], etcdHosts: config.etcdHosts })
          checked.push(...report.checked)
        }
        if (!json) for (const line of checked) this.log(`ok  ${line}`)
        return { checked }
      }
      let handle: GatewayHandle | undefined
      const metrics = flags.metrics ? new GatewayMetrics(() => handle?.status().leaseHeld ?? false) : undefined
      if (metrics && flags.metrics) {
        service = await startServiceListener(flags.metrics, { metrics, status: () => handle?.status() ?? { leaseHeld: false } })
        if (!json) this.log(`metrics on http://${service.address}/metrics (/healthz, /readyz)`)
      }
      const gw = await startRoutes({
        metrics,
        client,
        etcdHosts: config.etcdHosts,
        socketPath: flags.socket,
        id: flags.id,
        drainTimeoutMs: flags['drain-timeout'] * 1000,
        checkIntervalMs,
        serversFile: flags['servers-file'],
        recordsRoot: config.recordsRoot,
        onEvent: print,
      }, routes)
      handle = gw
      if (!json) for (const r of routes) this.log(`acks for /${r.prefix}/ under ${gatewayAckPrefix(r.prefix, config.recordsRoot)}${gw.id}`)
      if (!json) this.log('Ctrl-C to stop')
      const signal = await new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'))
        process.once('SIGTERM', () => resolve('SIGTERM'))
      })
      if (!json) this.log(`${signal}: stopping (lease revoked; HAProxy keeps its servers)`)
      await gw.stop()
      return { id: gw.id, appliedRevision: gw.appliedRevision() }
    } finally {
      await service?.close()
      client.close()
    }
  }

  /** --route (several) or the single --prefix/--backend form; not both. */
  private routes(flags: { route?: string[]; backend?: string; prefix?: string }, config: { prefix: string; recordsRoot: string }): Route[] {
    if (!flags.route?.length) return [{ prefix: config.prefix, backend: flags.backend ?? 'app' }]
    if (flags.backend !== undefined || flags.prefix !== undefined) {
      throw new ForrestError('BAD_INPUT', '--route names each prefix and backend; --prefix and --backend go with the single form; nothing was started', {
        suggestion: 'Drop --prefix/--backend and give every pair as --route PREFIX=BACKEND, or drop --route.',
      })
    }
    return parseRoutes(flags.route, config.recordsRoot)
  }

  private async initConfig(file: string, flags: { socket?: string; routes: Route[]; listen: string; force: boolean; checkIntervalMs: number; 'tls-certs'?: string; 'tls-listen': string; route?: string[] }): Promise<GatewayResult> {
    const exists = await access(file).then(() => true, () => false)
    if (exists && !flags.force) throw new ForrestError('BAD_INPUT', `${file} exists`, { suggestion: 'Pass --force to overwrite it.' })
    const tls = flags['tls-certs'] ? { certDir: flags['tls-certs'], bind: flags['tls-listen'] } : undefined
    const backends = flags.route?.length ? { routes: flags.routes } : { backend: flags.routes[0]!.backend }
    await writeFile(file, renderStarterConfig({ socketPath: flags.socket ?? DEFAULT_STARTER.socketPath, frontendBind: flags.listen, ...backends, checkIntervalMs: flags.checkIntervalMs, ...(tls ? { tls } : {}) }))
    this.log(`wrote ${file}; check it with: haproxy -c -f ${file}`)
    return { configWritten: file }
  }
}

function checkInterval(value: string): number {
  const ms = parseDuration(value)
  if (!ms) throw new ForrestError('BAD_INPUT', `--check-interval "${value}" is not a duration above 0`, { suggestion: 'Write e.g. --check-interval=2s or --check-interval=500ms.' })
  return ms
}

/** One human line per event; undefined for events only --json shows. */
export function formatEvent(e: GatewayEvent): string | undefined {
  switch (e.type) {
    case 'started':
      return `gateway ${e.id}: HAProxy ${e.socket} (pid ${e.haproxyPid}) backend ${e.backend} <- etcd /${e.prefix}/`
    case 'added':
      return `  ${e.name} ${e.address} (added, waiting for HTTP check)`
    case 'up':
      return `+ ${e.name} ${e.address} (up${e.msSinceAdded === undefined ? '' : `, ${e.msSinceAdded} ms`})`
    case 'check-failed':
      return `! ${e.name} ${e.address} (HTTP check failing: not routed)`
    case 'weight':
      return `  ${e.name} weight ${e.from} -> ${e.weight}`
    case 'draining':
      return `~ ${e.name} draining`
    case 'drained':
      return `- ${e.name} ${e.forced ? `drain timeout, ${e.sessions} sessions shut down` : 'drained'}`
    case 'applied':
      return `  applied revision ${e.revision}`
    case 'haproxy-restarted':
      return `HAProxy restarted or reloaded (pid ${e.pid}): re-applying`
    case 'skipped':
      return `! skipped key ${e.name}: ${e.reason}`
    case 'warning':
      return `! ${e.message}`
  }
}
