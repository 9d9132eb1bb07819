import { createConnection } from 'node:net'
import createDebug from 'debug'
import { ForrestError } from '../errors.js'

const debug = createDebug('forrest:haproxy')

/** One backend server as HAProxy reports it, merged from `show servers state` and `show stat`. */
export interface HaproxyServer {
  name: string
  /** "ip:port" */
  address: string
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number
  /** srv_admin_state bit mask (0x01 FMAINT, 0x04 CMAINT, 0x08 FDRAIN, ...). */
  adminState: number
  /** Weight set by us/the config (srv_uweight). 0 = gated: checked, but gets no traffic. */
  weight: number
  /** srv_check_result: 0 unknown, 2 failed, 3 passed (a real check ran and passed). */
  checkResult: number
  /** srv_check_state mask: 0x04 = health check enabled. */
  checkState: number
  /** Current sessions on the server (show stat scur). */
  sessions: number
  /** Queued requests waiting for this server (show stat qcur). */
  queued: number
  /** Last check's status and code from show stat, e.g. "L7STS 404" or "L4CON". */
  checkStatus?: string
  /** Traffic counters from show stat (HTTP mode), for canary analysis. */
  counters?: ServerCounters
}

/**
 * What a server has served since HAProxy added it (or its worker started): `responses` and
 * `errors5xx` are counters, `rtimeMs` is HAProxy's average response time over the server's last
 * 1024 requests (show stat rtime), not a counter.
 */
export interface ServerCounters {
  responses: number
  errors5xx: number
  rtimeMs: number
  /**
   * Failures clients may never see: HAProxy retries and redispatches them to other servers
   * (`retries`, `option redispatch`, `retry-on empty-response`). show stat econ (connection
   * errors), eresp (response errors: closed or broken), wretr (retries), wredis (redispatches).
   */
  econ: number
  eresp: number
  wretr: number
  wredis: number
}

export const ADMIN_MAINT_MASK = 0x01 | 0x02 | 0x04 | 0x20 | 0x40
export const ADMIN_DRAIN_MASK = 0x08 | 0x10
export const CHECK_ENABLED = 0x04
export const OP_RUNNING = 2
export const CHECK_PASSED = 3
export const CHECK_FAILED = 2

export interface ProcessInfo {
  pid: number
  uptimeSec: number
  startTimeSec?: number
}

/**
 * HAProxy's Runtime API, one command per connection on the admin (stats) socket: in
 * non-interactive mode HAProxy answers and closes, so "read until close" frames the reply.
 * Errors come back as plain text with a normal close, hence the pattern check in `run`.
 */
export class HaproxyRuntime {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 3000,
  ) {}

  /** Sends one command and returns the raw answer. Throws GATEWAY_UNREACHABLE if the socket does not answer. */
  send(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(this.socketPath)
      let out = ''
      const timer = setTimeout(() => sock.destroy(new Error(`no answer within ${this.timeoutMs}ms`)), this.timeoutMs) // the command's deadline
      sock.setEncoding('utf8')
      sock.on('connect', () => sock.end(`${command}\n`))
      sock.on('data', (d: string) => (out += d))
      sock.on('error', (err) => {
        clearTimeout(timer)
        reject(
          new ForrestError('GATEWAY_UNREACHABLE', `HAProxy admin socket ${this.socketPath} did not answer: ${err.message}`, {
            cause: err,
            suggestion: 'Check --socket and that haproxy.cfg has "stats socket <path> level admin" (forrest gateway --init-config writes one).',
          }),
        )
      })
      sock.on('close', () => {
        clearTimeout(timer)
        resolve(out)
      })
    })
  }

  /** Sends a state-changing command; throws when HAProxy answers with an error message. */
  async run(command: string): Promise<string> {
    const out = (await this.send(command)).trim()
    debug('%s -> %s', command, out || '(ok)')
    if (looksLikeError(out)) throw new HaproxyCommandError(command, out)
    return out
  }

  /**
   * Sends commands as one line (`a; b; c`): HAProxy runs them back to back, with none of its own
   * tasks in between. It runs every one whatever the one before answered, so the answers are
   * checked only afterwards: throws with the first error among them.
   */
  async runLine(commands: string[]): Promise<string> {
    const command = commands.join('; ')
    const out = (await this.send(command)).trim()
    debug('%s -> %s', command, out || '(ok)')
    const failed = out.split('\n').find((answer) => looksLikeError(answer.trim()))
    if (failed) throw new HaproxyCommandError(command, failed.trim())
    return out
  }

  async info(): Promise<ProcessInfo> {
    const fields = new Map<string, string>()
    for (const line of (await this.send('show info')).split('\n')) {
      const i = line.indexOf(':')
      if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim())
    }
    const pid = Number(fields.get('Pid'))
    if (!Number.isFinite(pid)) throw new HaproxyCommandError('show info', 'no Pid in answer')
    return { pid, uptimeSec: Number(fields.get('Uptime_sec') ?? 0), startTimeSec: Number(fields.get('Start_time_sec') ?? NaN) || undefined }
  }

  /** All servers of one backend, or a BAD_INPUT error if the backend does not exist. */
  async servers(backend: string): Promise<HaproxyServer[]> {
    const stateText = await this.send(`show servers state ${backend}`)
    if (/Can't find backend/i.test(stateText)) {
      throw new ForrestError('BAD_INPUT', `HAProxy has no backend "${backend}"`, { suggestion: 'Pass --backend NAME matching a backend in haproxy.cfg.' })
    }
    const state = parseServersState(stateText).filter((r) => r.backend === backend)
    if (state.length === 0) return []
    // Only this backend's servers (type 4, every server id): a bare `show stat` is every proxy's
    // 129 columns, most of a pass at 150 servers. By the backend's id, not its name: a frontend
    // of the same name would be picked first and show no servers.
    const command = `show stat ${state[0]!.backendId} 4 -1`
    const statText = await this.send(command)
    if (!statText.startsWith('#')) throw new HaproxyCommandError(command, statText.trim())
    return mergeServers(state, parseServerStats(statText, backend))
  }
}

export class HaproxyCommandError extends Error {
  constructor(
    readonly command: string,
    readonly answer: string,
  ) {
    super(`haproxy: "${command}" failed: ${answer}`)
    this.name = 'HaproxyCommandError'
  }
}

const ERROR_PATTERNS = [/^No such/i, /^Unknown command/i, /^Already exists/i, /^Permission denied/i, /expects/i, /cannot/i, /^Require/i, /invalid/i, /error/i, /^Can't/i, /not found/i, /failed/i, /must be/i, /^Only/i]
const looksLikeError = (out: string): boolean => out !== '' && ERROR_PATTERNS.some((re) => re.test(out))

interface StateRow {
  /** The proxy's numeric id (be_id), as `show stat` takes it. */
  backendId: number
  backend: string
  name: string
  addr: string
  port: number
  opState: number
  adminState: number
  weight: number
  checkResult: number
  checkState: number
}

/** Parses `show servers state` (format version 1: space-separated, header line starts with '#'). */
export function parseServersState(text: string): StateRow[] {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean)
  const header = lines.find((l) => l.startsWith('#'))
  if (!header) return []
  const cols = header.replace(/^#\s*/, '').split(/\s+/)
  const idx = (c: string) => cols.indexOf(c)
  const rows: StateRow[] = []
  for (const line of lines) {
    if (line.startsWith('#') || /^\d+$/.test(line)) continue // comments and the format-version line
    const f = line.split(/\s+/)
    const num = (c: string) => Number(f[idx(c)])
    rows.push({
      backendId: num('be_id'),
      backend: f[idx('be_name')],
      name: f[idx('srv_name')],
      addr: f[idx('srv_addr')],
      port: num('srv_port'),
      opState: num('srv_op_state'),
      adminState: num('srv_admin_state'),
      weight: num('srv_uweight'),
      checkResult: num('srv_check_result'),
      checkState: num('srv_check_state'),
    })
  }
  return rows
}

/** What the gateway reads from `show stat`, per server. */
export interface ServerStats {
  sessions: number
  queued: number
  /** check_status and check_code, e.g. "L7STS 404". */
  checkStatus?: string
  counters: ServerCounters
}

const RESPONSE_COLUMNS = ['hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other'] as const
const FAILURE_COLUMNS = ['econ', 'eresp', 'wretr', 'wredis'] as const
const STAT_COLUMNS = ['pxname', 'svname', 'scur', 'qcur', 'check_status', 'check_code', 'rtime', ...RESPONSE_COLUMNS, ...FAILURE_COLUMNS] as const

/**
 * The used columns of `show stat` CSV, by server name, for one backend's server rows. Fields are
 * split only up to the last used column (rtime is the 61st of 129). Responses are the sum of the
 * hrsp_* columns rather than req_tot: they count what the server answered, which is what a
 * 5xx rate is a share of.
 */
export function parseServerStats(text: string, backend: string): Map<string, ServerStats> {
  const out = new Map<string, ServerStats>()
  const lines = text.split('\n')
  if (!lines[0]?.startsWith('#')) return out
  const header = lines[0].replace(/^#\s*/, '').split(',')
  const col = new Map(STAT_COLUMNS.map((c) => [c, header.indexOf(c)]))
  const [px, sv, scur, qcur, status, code] = (['pxname', 'svname', 'scur', 'qcur', 'check_status', 'check_code'] as const).map((c) => col.get(c)!)
  const limit = Math.max(...col.values()) + 1
  for (const line of lines.slice(1)) {
    if (!line) continue
    const f = line.split(',', limit)
    if (f[px!] !== backend) continue
    // A check_code of 0 is no HTTP status (seen once, under load, beside L7STS): leave it out rather than print "L7STS 0".
    const checkCode = f[code!] && f[code!] !== '0' ? ` ${f[code!]}` : ''
    const check = f[status!] ? `${f[status!]}${checkCode}`.replace(/^\*\s*/, '') : undefined
    // A column this HAProxy does not have (index -1) or leaves empty (TCP mode) reads as 0.
    const num = (c: (typeof STAT_COLUMNS)[number]) => Number(f[col.get(c)!] || 0) || 0
    const counters = {
      responses: RESPONSE_COLUMNS.reduce((sum, c) => sum + num(c), 0),
      errors5xx: num('hrsp_5xx'),
      rtimeMs: num('rtime'),
      ...(Object.fromEntries(FAILURE_COLUMNS.map((c) => [c, num(c)])) as Record<(typeof FAILURE_COLUMNS)[number], number>),
    }
    out.set(f[sv!]!, { sessions: Number(f[scur!] || 0), queued: Number(f[qcur!] || 0), ...(check ? { checkStatus: check } : {}), counters })
  }
  return out
}

function mergeServers(state: StateRow[], stats: Map<string, ServerStats>): HaproxyServer[] {
  return state.map((r) => ({
    name: r.name,
    address: `${r.addr}:${r.port}`,
    opState: r.opState,
    adminState: r.adminState,
    weight: r.weight,
    checkResult: r.checkResult,
    checkState: r.checkState,
    sessions: 0,
    queued: 0,
    ...stats.get(r.name),
  }))
}
