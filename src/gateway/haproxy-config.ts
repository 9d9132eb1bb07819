/**
 * A starter haproxy.cfg for `forrest gateway` (pure: returns text, the command writes it).
 * The backend has no server lines: the gateway adds every instance at runtime as a dynamic
 * server. Dynamic servers ignore `default-server`, so the check timing lives in the gateway's
 * --check-params too; it is repeated here for any static server a user adds by hand.
 */
export interface StarterConfigOptions {
  socketPath: string
  frontendBind: string
  backend: string
  /** Optional stats page, e.g. "127.0.0.1:8404". */
  statsBind?: string
}

export const DEFAULT_STARTER: StarterConfigOptions = {
  socketPath: '/run/haproxy/admin.sock',
  frontendBind: '127.0.0.1:8080',
  backend: 'app',
}

export function renderStarterConfig(opts: Partial<StarterConfigOptions> = {}): string {
  const o = { ...DEFAULT_STARTER, ...opts }
  const lines = [
    '# Starter config written by `forrest gateway --init-config`. Adapt it, then run:',
    `#   haproxy -W -f haproxy.cfg            # master-worker; reload with kill -USR2 <master pid>`,
    `#   forrest gateway --socket ${o.socketPath} --backend ${o.backend}`,
    '# The gateway adds/removes servers in backend "' + o.backend + '" through the admin socket,',
    '# without reloads. Servers added at runtime are not in this file: after a reload the gateway',
    '# notices they are missing and adds them again (gated until their HTTP check passes).',
    'global',
    `  stats socket ${o.socketPath} mode 600 level admin expose-fd listeners`,
    '  stats timeout 30s',
    '',
    'defaults',
    '  mode http',
    '  # Add "log <address> local0" in global and "log global" + "option httplog" here for access logs.',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout check 2s',
    '  # A request that hit a server which vanished is retried on another one.',
    '  retries 2',
    '  option redispatch',
    '',
    'frontend web',
    `  bind ${o.frontendBind}`,
    `  default_backend ${o.backend}`,
    '',
    `backend ${o.backend}`,
    '  # Dynamic servers need a dynamic algorithm (roundrobin, leastconn, random).',
    '  balance roundrobin',
    '  # Always an HTTP check: Docker\'s userland proxy accepts TCP even when nothing listens.',
    '  option httpchk GET /',
    '  http-check expect status 200',
    '  default-server inter 200ms fall 2 rise 1',
    '  # (no server lines: forrest gateway manages this backend)',
  ]
  if (o.statsBind) {
    lines.push('', 'frontend stats', `  bind ${o.statsBind}`, '  stats enable', '  stats uri /', '  stats refresh 2s')
  }
  return lines.join('\n') + '\n'
}
