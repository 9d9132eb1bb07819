import { describe, expect, it } from 'vitest'
import { checkKeywords } from '../../src/gateway/check-params.js'
import { renderStarterConfig } from '../../src/gateway/haproxy-config.js'
import { parseServersState, parseServerStats, type HaproxyServer } from '../../src/gateway/haproxy-runtime.js'
import { renderServerLines, replaceServersBlock, SERVERS_BEGIN, SERVERS_END } from '../../src/gateway/servers-file.js'
import { planSync, type SyncInput } from '../../src/gateway/sync.js'

const srv = (name: string, over: Partial<HaproxyServer> = {}): HaproxyServer => ({
  name,
  address: '127.0.0.1:30001',
  opState: 2,
  adminState: 0,
  weight: 100,
  checkResult: 3,
  checkState: 6,
  sessions: 0,
  queued: 0,
  ...over,
})
const input = (desired: Record<string, string>, actual: HaproxyServer[], over: Partial<SyncInput> = {}): SyncInput => ({
  desired: new Map(Object.entries(desired)),
  actual,
  now: 100_000,
  drainStartedAt: new Map(),
  drainTimeoutMs: 30_000,
  ...over,
})

describe('planSync', () => {
  it('adds a new instance gated and waits for its check', () => {
    const plan = planSync(input({ a: '127.0.0.1:30001' }, []))
    expect(plan.actions).toEqual([{ kind: 'add', name: 'a', address: '127.0.0.1:30001', weight: 100 }])
    expect(plan.gating).toEqual(['a'])
  })

  it('does nothing for a live server that matches', () => {
    const plan = planSync(input({ a: '127.0.0.1:30001' }, [srv('a')]))
    expect(plan).toEqual({ actions: [], gating: [], draining: [], skipped: [] })
  })

  it.each([
    ['assumed up before any check', { opState: 2, checkResult: 0 }, [], ['a']],
    ['check passed', { opState: 2, checkResult: 3 }, [{ kind: 'promote', name: 'a', address: '127.0.0.1:30001', weight: 100 }], []],
    ['check failed: a verdict, stays gated', { opState: 0, checkResult: 2 }, [], []],
    ['"UP 1/2" going down', { opState: 2, checkResult: 2 }, [], []],
  ])('gated server, %s', (_what, over, actions, gating) => {
    const plan = planSync(input({ a: '127.0.0.1:30001' }, [srv('a', { weight: 0, ...over })]))
    expect(plan.actions).toEqual(actions)
    expect(plan.gating).toEqual(gating)
  })

  it.each([
    ['forced DOWN, not checked yet', { opState: 0, checkResult: 0 }, ['a']],
    ['forced DOWN again after a re-gate (stale passed result)', { opState: 0, checkResult: 3 }, ['a']],
    ['first check failed: a verdict, HAProxy keeps it DOWN', { opState: 0, checkResult: 2 }, []],
    ['first check passed: HAProxy put it UP', { opState: 2, checkResult: 3 }, []],
  ])('server at full weight, %s', (_what, over, gating) => {
    const plan = planSync(input({ a: '127.0.0.1:30001' }, [srv('a', over)]))
    expect(plan.actions).toEqual([])
    expect(plan.gating).toEqual(gating)
  })

  it.each([
    ['a new server is added gated and given its weight key', {}, undefined, [{ kind: 'add', name: 'a', address: '127.0.0.1:30001', weight: 7 }]],
    ['a live server at another weight is reweighted', { weight: 100 }, undefined, [{ kind: 'weight', name: 'a', weight: 7, from: 100 }]],
    ['a live server at its weight is left alone', { weight: 7 }, undefined, []],
    ['a gated server whose check passed is promoted to its weight, not the default', { weight: 0, opState: 2, checkResult: 3 }, undefined, [{ kind: 'promote', name: 'a', address: '127.0.0.1:30001', weight: 7 }]],
  ] as const)('weights: %s', (_what, over, _unused, actions) => {
    const actual = 'weight' in over ? [srv('a', over)] : []
    expect(planSync(input({ a: '127.0.0.1:30001' }, actual, { weights: new Map([['a', 7]]) })).actions).toEqual(actions)
  })

  it('weights: weight 0 takes a live server out of rotation, and a checked one at 0 stays there with no promote', () => {
    const weights = new Map([['a', 0]])
    expect(planSync(input({ a: '127.0.0.1:30001' }, [srv('a')], { weights })).actions).toEqual([{ kind: 'weight', name: 'a', weight: 0, from: 100 }])
    const standing = planSync(input({ a: '127.0.0.1:30001' }, [srv('a', { weight: 0 })], { weights }))
    expect(standing.actions).toEqual([])
    expect(standing.gating).toEqual([])
    // Without a weight key the gateway's own weight applies (--weight), not HAProxy's default.
    expect(planSync(input({ a: '127.0.0.1:30001' }, [srv('a', { weight: 0 })], { liveWeight: 50 })).actions).toEqual([{ kind: 'promote', name: 'a', address: '127.0.0.1:30001', weight: 50 }])
  })

  it('weights: a switch raises the new colour before it lowers the old one (never every server at 0)', () => {
    const weights = new Map([['a-r1-1', 0], ['a-r1-2', 0], ['a-r2-1', 100], ['a-r2-2', 100]])
    const actual = [srv('a-r1-1'), srv('a-r1-2'), srv('a-r2-1', { weight: 0 }), srv('a-r2-2', { weight: 0 })]
    const desired = Object.fromEntries(actual.map((s) => [s.name, s.address]))
    expect(planSync(input(desired, actual, { weights })).actions.map((a) => `${a.kind} ${a.name}`)).toEqual(['promote a-r2-1', 'promote a-r2-2', 'weight a-r1-1', 'weight a-r1-2'])
    // And back: r1 raised from 0 (promote) before r2 lowered.
    const back = new Map([['a-r1-1', 100], ['a-r2-1', 0]])
    expect(planSync(input({ 'a-r2-1': '127.0.0.1:30001', 'a-r1-1': '127.0.0.1:30001' }, [srv('a-r2-1'), srv('a-r1-1', { weight: 0 })], { weights: back })).actions.map((a) => `${a.kind} ${a.name}`)).toEqual(['promote a-r1-1', 'weight a-r2-1'])
  })

  it('enables health checks that are off', () => {
    const plan = planSync(input({ a: '127.0.0.1:30001' }, [srv('a', { weight: 0, checkState: 2, checkResult: 0 })]))
    expect(plan.actions).toEqual([{ kind: 'enable-health', name: 'a' }])
  })

  it('puts a re-announced server back: from drain as is, from maint re-gated', () => {
    expect(planSync(input({ a: '127.0.0.1:30001' }, [srv('a', { adminState: 0x08 })])).actions).toEqual([{ kind: 'ready', name: 'a', regate: false, weight: 100 }])
    const plan = planSync(input({ a: '127.0.0.1:30001' }, [srv('a', { adminState: 0x01 })]))
    expect(plan.actions).toEqual([{ kind: 'ready', name: 'a', regate: true, weight: 100 }])
    expect(plan.gating).toEqual(['a'])
  })

  it('removes an idle withdrawn server at once, and counts it as draining until del succeeds', () => {
    const plan = planSync(input({}, [srv('old')]))
    expect(plan.actions).toEqual([{ kind: 'remove', name: 'old', address: '127.0.0.1:30001', forced: false, sessions: 0 }])
    // The gateway drops it from draining only when `del server` succeeded (HAProxy refuses
    // while a request is still attached): an ack must never claim a server gone that is not.
    expect(plan.draining).toEqual(['old'])
    // Left in maint by a refused del: retried, still draining.
    expect(planSync(input({}, [srv('old', { adminState: 0x01 })]))).toMatchObject({ actions: [{ kind: 'remove', name: 'old' }], draining: ['old'] })
  })

  it('drains a withdrawn server with sessions, then waits, then removes at 0', () => {
    expect(planSync(input({}, [srv('old', { sessions: 3 })]))).toMatchObject({
      actions: [{ kind: 'drain', name: 'old', reason: 'withdrawn' }],
      draining: ['old'],
    })
    const draining = srv('old', { sessions: 1, adminState: 0x08 })
    expect(planSync(input({}, [draining], { drainStartedAt: new Map([['old', 90_000]]) }))).toMatchObject({ actions: [], draining: ['old'] })
    expect(planSync(input({}, [{ ...draining, sessions: 0 }])).actions).toMatchObject([{ kind: 'remove', forced: false }])
  })

  it('counts queued requests as busy', () => {
    expect(planSync(input({}, [srv('old', { queued: 2 })])).draining).toEqual(['old'])
  })

  it('forces removal after the drain timeout', () => {
    const plan = planSync(input({}, [srv('old', { sessions: 2, adminState: 0x08 })], { drainStartedAt: new Map([['old', 60_000]]) }))
    expect(plan.actions).toEqual([{ kind: 'remove', name: 'old', address: '127.0.0.1:30001', forced: true, sessions: 2 }])
    expect(plan.draining).toEqual(['old'])
  })

  it('never repoints a live server to a new address: drains it, re-adds later', () => {
    const plan = planSync(input({ a: '127.0.0.1:30002' }, [srv('a', { sessions: 1 })]))
    expect(plan.actions).toMatchObject([{ kind: 'drain', name: 'a', reason: 'moved' }])
    expect(plan.gating).toEqual(['a'])
    expect(planSync(input({ a: '127.0.0.1:30002' }, [srv('a')])).actions).toMatchObject([{ kind: 'remove', name: 'a' }])
  })

  it('skips invalid keys and leaves an existing server of that name alone', () => {
    const plan = planSync(input({ 'bad name': '127.0.0.1:1', x: 'not-an-address' }, [srv('x')]))
    expect(plan.actions).toEqual([])
    expect(plan.skipped.map((s) => s.name)).toEqual(['bad name', 'x'])
  })

  it('handles a mixed rollout step', () => {
    const plan = planSync(input({ 'app-r2-1': '127.0.0.1:30002', 'app-r1-2': '127.0.0.1:30003' }, [srv('app-r1-1', { sessions: 1 }), srv('app-r1-2', { address: '127.0.0.1:30003' })]))
    expect(plan.actions.map((a) => `${a.kind} ${a.name}`)).toEqual(['add app-r2-1', 'drain app-r1-1'])
  })
})

describe('HAProxy answers', () => {
  it('parses show servers state and show stat', () => {
    const state = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 app 1 good 127.0.0.1 2 0 100 0 3 15 3 2 6 0 0 0 - 32769 - 0 0 - - 0
`
    expect(parseServersState(state)).toEqual([
      { backendId: 3, backend: 'app', name: 'good', addr: '127.0.0.1', port: 32769, opState: 2, adminState: 0, weight: 100, checkResult: 3, checkState: 6 },
    ])
  })

  it('reads only the used columns of show stat (HAProxy 2.6 header)', () => {
    const cols = STAT_HEADER_2_6.replace(/^# /, '').split(',')
    const row = (px: string, sv: string, qcur: number, scur: number, status: string, code: string) => {
      const f = cols.map(() => '')
      const set = (col: string, v: string | number) => (f[cols.indexOf(col)] = String(v))
      set('pxname', px)
      set('svname', sv)
      set('qcur', qcur)
      set('scur', scur)
      set('check_status', status)
      set('check_code', code)
      set('addr', '127.0.0.1:1') // a column past the used ones
      return f.join(',')
    }
    const text = [STAT_HEADER_2_6, row('app', 'a-1', 2, 5, 'L7OK', '200'), row('app', 'b-1', 0, 0, '* L7STS', '404'), row('app', 'c-1', 0, 0, 'L7STS', '0'), row('other', 'a-1', 9, 9, 'L4CON', ''), ''].join('\n')
    const none = { responses: 0, errors5xx: 0, rtimeMs: 0, econ: 0, eresp: 0, wretr: 0, wredis: 0 }
    expect([...parseServerStats(text, 'app')]).toEqual([
      ['a-1', { sessions: 5, queued: 2, checkStatus: 'L7OK 200', counters: none }],
      ['b-1', { sessions: 0, queued: 0, checkStatus: 'L7STS 404', counters: none }],
      ['c-1', { sessions: 0, queued: 0, checkStatus: 'L7STS', counters: none }],
    ])
    expect(parseServerStats('No such proxy.\n', 'app').size).toBe(0)
  })

  it('reads the traffic counters: responses summed over hrsp_*, 5xx, rtime, and econ, eresp, wretr, wredis', () => {
    const cols = STAT_HEADER_2_6.replace(/^# /, '').split(',')
    const f = cols.map(() => '')
    const set = (col: string, v: string | number) => (f[cols.indexOf(col)] = String(v))
    set('pxname', 'app')
    set('svname', 'a-1')
    set('hrsp_1xx', 0)
    set('hrsp_2xx', 90)
    set('hrsp_3xx', 3)
    set('hrsp_4xx', 2)
    set('hrsp_5xx', 5)
    set('hrsp_other', 1)
    set('req_tot', 200) // not used: responses are what a 5xx rate is a share of
    set('rtime', 42)
    set('econ', 1)
    set('eresp', 7)
    set('wretr', 6)
    set('wredis', 6)
    expect(parseServerStats([STAT_HEADER_2_6, f.join(','), ''].join('\n'), 'app').get('a-1')?.counters).toEqual({ responses: 101, errors5xx: 5, rtimeMs: 42, econ: 1, eresp: 7, wretr: 6, wredis: 6 })
  })
})

describe('renderStarterConfig', () => {
  it('has an admin socket, HTTP checks and no layer-4-only checks', () => {
    const cfg = renderStarterConfig({ socketPath: '/tmp/x.sock', frontendBind: '127.0.0.1:9000', backend: 'web' })
    expect(cfg).toContain('stats socket /tmp/x.sock mode 600 level admin expose-fd listeners')
    expect(cfg).toContain('bind 127.0.0.1:9000')
    expect(cfg).toMatch(/backend web\n {2}# .*\n {2}balance roundrobin/)
    expect(cfg).toContain('option httpchk GET /')
    expect(cfg).toContain('http-check expect status 200')
    expect(cfg).toContain('default-server inter 2s fastinter 50ms downinter 25ms fall 2 rise 1 observe layer4')
    expect(renderStarterConfig({ checkIntervalMs: 200 })).toContain('default-server inter 200ms fastinter')
    expect(cfg).not.toMatch(/^\s*server /m)
    // The --servers-file block sits inside the backend.
    expect(cfg).toMatch(new RegExp(`backend web\\n[^]*  ${SERVERS_BEGIN.replace(/[()]/g, '\\$&')}\\n  ${SERVERS_END}\\n$`))
  })
})

describe('check keywords', () => {
  it('keep the gating (downinter 25ms, rise 1) and quick failure detection (fastinter, observe) whatever the interval', () => {
    // A long idle interval must not slow announce → served: that is downinter's job (#18).
    const rest = 'fastinter 50ms downinter 25ms fall 2 rise 1 observe layer4 error-limit 1 on-error fastinter'
    expect(checkKeywords()).toBe(`inter 2s ${rest}`)
    expect(checkKeywords(200)).toBe(`inter 200ms ${rest}`)
    expect(checkKeywords(1500)).toBe(`inter 1500ms ${rest}`)
  })
})

describe('servers file', () => {
  const cfg = ['global', '  maxconn 100', 'backend app', '  balance roundrobin', `  ${SERVERS_BEGIN}`, '  server old 127.0.0.1:1 check weight 100', `  ${SERVERS_END}`, '  http-response set-header x %s', ''].join('\n')

  it('replaces only what is between the markers, sorted, with the check keywords', () => {
    const lines = renderServerLines(new Map([['b-2', '127.0.0.1:30002'], ['a-1', '127.0.0.1:30001']]), 'check inter 200ms', 100)
    expect(lines).toEqual(['  server a-1 127.0.0.1:30001 check inter 200ms weight 100', '  server b-2 127.0.0.1:30002 check inter 200ms weight 100'])
    const next = replaceServersBlock(cfg, lines) as string
    expect(next.split('\n')).toEqual(['global', '  maxconn 100', 'backend app', '  balance roundrobin', `  ${SERVERS_BEGIN}`, ...lines, `  ${SERVERS_END}`, '  http-response set-header x %s', ''])
    expect(replaceServersBlock(next, lines)).toBe(next) // unchanged set: same text, no write
    expect(replaceServersBlock(cfg, [])).not.toContain('server old')
  })

  it('keeps each server at its own weight across a reload (a weighted canary stays at its share)', () => {
    const lines = renderServerLines(new Map([['c-1', '127.0.0.1:30003'], ['a-1', '127.0.0.1:30001']]), 'check', new Map([['c-1', 53]]), 100)
    expect(lines).toEqual(['  server a-1 127.0.0.1:30001 check weight 100', '  server c-1 127.0.0.1:30003 check weight 53'])
  })

  it('refuses a file without both markers', () => {
    expect(replaceServersBlock('backend app\n  balance roundrobin\n', [])).toBeUndefined()
    expect(replaceServersBlock(`backend app\n  ${SERVERS_END}\n  ${SERVERS_BEGIN}\n`, [])).toBeUndefined()
  })
})

/** `show stat` header line of HAProxy 2.6.12, as it answers. */
const STAT_HEADER_2_6 =
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,'
