import { checkKeywords } from './check-params.js'
import type { Route } from './routes.js'
import { SERVERS_BEGIN, SERVERS_END } from './servers-file.js'

/**
 * A starter haproxy.cfg for `forrest gateway` (pure: returns text, the command writes it).
 * The backend has no hand-written server lines: the gateway adds every instance at runtime as a
 * dynamic server, and with --servers-file mirrors the live ones into the marker block so a
 * reload keeps them. Dynamic servers ignore `default-server`, so the gateway passes the check
 * timing with each server (check-params.ts); it is repeated here for any static server added by hand.
 */
export interface StarterConfigOptions {
  socketPath: string
  frontendBind: string
  backend: string
  /** Optional stats page, e.g. "127.0.0.1:8404". */
  statsBind?: string
  /** The gateway's --check-interval, for default-server. */
  checkIntervalMs?: number
  /**
   * Terminate TLS: `bind <bind> ssl crt <certDir>` (every PEM in the folder: certificate, chain and
   * key in one file; HAProxy picks one by SNI), and frontendBind only redirects to HTTPS.
   */
  tls?: { certDir: string; bind: string }
  /**
   * Several apps (`forrest gateway --route`): one backend per route, chosen by the Host header
   * (a host starting with "<backend>." goes to that backend; any other host gets 404). Replaces `backend`.
   */
  routes?: readonly Route[]
}

export const DEFAULT_STARTER: StarterConfigOptions = {
  socketPath: '/run/haproxy/admin.sock',
  frontendBind: '127.0.0.1:8080',
  backend: 'app',
}

export function renderStarterConfig(opts: Partial<StarterConfigOptions> = {}): string {
  const o = { ...DEFAULT_STARTER, ...opts }
  const backends = o.routes?.length ? o.routes.map((r) => r.backend) : [o.backend]
  const gatewayLine = o.routes?.length
    ? `#   forrest gateway --socket ${o.socketPath} ${o.routes.map((r) => `--route ${r.prefix}=${r.backend}`).join(' ')} --servers-file <this file>`
    : `#   forrest gateway --socket ${o.socketPath} --backend ${o.backend} --servers-file <this file>`
  const lines = [
    '# Starter config written by `forrest gateway --init-config`. Adapt it, then run:',
    `#   haproxy -W -f haproxy.cfg            # master-worker; reload with kill -USR2 <master pid>`,
    gatewayLine,
    `# The gateway adds/removes servers in backend${backends.length > 1 ? 's' : ''} ${backends.map((b) => `"${b}"`).join(', ')} through the admin socket,`,
    '# without reloads. With --servers-file it also keeps the live ones between the forrest:servers',
    '# markers below, so a reload starts with them; without it a reload starts with an empty',
    '# backend (503s) until the gateway adds them again, within a few hundred ms.',
    'global',
    `  stats socket ${o.socketPath} mode 600 level admin expose-fd listeners`,
    '  stats timeout 30s',
    '  # An old worker left by a reload exits at the latest after this.',
    '  hard-stop-after 60s',
    '',
    'defaults',
    '  mode http',
    '  # Add "log <address> local0" in global and "log global" + "option httplog" here for access logs.',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout check 2s',
    '  # A request that hit a server which vanished is retried on another one (redispatch on every',
    '  # retry). empty-response matters with Docker: its userland proxy accepts the connection for a',
    '  # container that is going away, then closes it without a byte. A reload that starts right',
    '  # before a withdrawal can briefly route to the withdrawn instance; this retry covers it.',
    '  # Drop empty-response if your app has non-idempotent requests that must never be repeated.',
    '  retries 2',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response',
    '  # Reloads: the old worker keeps idle keep-alive connections until their next response (sent',
    '  # with "Connection: close") instead of closing them while a client may be sending on them.',
    '  option idle-close-on-response',
    '',
    'frontend web',
    `  bind ${o.frontendBind}`,
    ...(o.tls
      ? [
          '  # TLS ends here. A renewed certificate reaches HAProxy without a reload and without dropping',
          '  # a connection: "set ssl cert <file>" + "commit ssl cert <file>" on the admin socket',
          '  # (README › TLS at the edge; examples/certbot/haproxy-deploy-hook.sh).',
          `  bind ${o.tls.bind} ssl crt ${o.tls.certDir} alpn h2,http/1.1`,
          '  http-request redirect scheme https code 301 unless { ssl_fc }',
          '  http-request set-header X-Forwarded-Proto https if { ssl_fc }',
        ]
      : []),
    ...(o.routes?.length ? hostRouting(backends) : [`  default_backend ${o.backend}`]),
    ...backends.flatMap((b) => backendSection(b, o.checkIntervalMs)),
  ]
  if (o.statsBind) {
    lines.push('', 'frontend stats', `  bind ${o.statsBind}`, '  stats enable', '  stats uri /', '  stats refresh 2s')
  }
  return lines.join('\n') + '\n'
}

/** The frontend's choice of backend by Host header: "<backend>.<anything>" (port dropped, any case); the rest 404. */
function hostRouting(backends: readonly string[]): string[] {
  return [
    '  # The Host header without its :port. A host starting with "<backend>." goes to that backend',
    '  # (web.example.com, web.localhost → backend web): edit these lines for your own domains.',
    '  http-request set-var(txn.host) req.hdr(host),field(1,:),lower',
    // http-request rules run before use_backend whatever their order: the 404 names every host it spares.
    `  http-request return status 404 content-type text/plain string "no app for this host" if !{ var(txn.host) -m beg ${backends.map((b) => `${b.toLowerCase()}.`).join(' ')} }`,
    ...backends.map((b) => `  use_backend ${b} if { var(txn.host) -m beg ${b.toLowerCase()}. }`),
  ]
}

function backendSection(backend: string, checkIntervalMs: number | undefined): string[] {
  return [
    '',
    `backend ${backend}`,
    '  # Dynamic servers need a dynamic algorithm (roundrobin, leastconn, random).',
    '  balance roundrobin',
    "  # Always an HTTP check: Docker's userland proxy accepts TCP even when nothing listens.",
    '  option httpchk GET /',
    '  http-check expect status 200',
    "  # Only for servers added here by hand: dynamic servers take the gateway's own check keywords.",
    `  default-server ${checkKeywords(checkIntervalMs)}`,
    '  # No hand-written server lines: forrest gateway manages this backend.',
    `  ${SERVERS_BEGIN}`,
    `  ${SERVERS_END}`,
  ]
}
