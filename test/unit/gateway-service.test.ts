import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { EXIT, ForrestError } from '../../src/errors.js'
import { renderStarterConfig } from '../../src/gateway/haproxy-config.js'
import type { HaproxyServer } from '../../src/gateway/haproxy-runtime.js'
import { reasonClass, serverState } from '../../src/gateway/metrics.js'
import { notReadyReasons, parseListenAddress } from '../../src/gateway/service-http.js'

const srv = (over: Partial<HaproxyServer>): HaproxyServer => ({ name: 'a', address: '10.0.0.1:80', opState: 2, adminState: 0, weight: 100, checkResult: 3, checkState: 4, sessions: 0, queued: 0, ...over })

describe('gateway service: listen address', () => {
  it('parses host:port, :port and [v6]:port', () => {
    expect(parseListenAddress('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 })
    expect(parseListenAddress(':9464')).toEqual({ port: 9464 })
    expect(parseListenAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 })
  })
  it.each(['9464', 'localhost', 'x:0', 'x:70000', 'a:b'])('rejects %s as BAD_INPUT naming the flag', (bad) => {
    const err = (() => {
      try {
        parseListenAddress(bad)
      } catch (e) {
        return e
      }
    })() as ForrestError
    expect(err).toBeInstanceOf(ForrestError)
    expect(err.code).toBe('BAD_INPUT')
    expect(err.exit).toBe(2)
    expect(err.message).toContain(`--metrics "${bad}"`)
  })
})

describe('gateway service: readiness', () => {
  const now = 100_000
  it('is ready with the lease held and a recent sync', () => {
    expect(notReadyReasons({ leaseHeld: true, lastSyncAt: now - 1000 }, now)).toEqual([])
  })
  it('is not ready without the lease, before a first sync, or with a stale sync', () => {
    expect(notReadyReasons({ leaseHeld: false, lastSyncAt: now }, now)).toEqual([expect.stringMatching(/^etcd lease not held/)])
    expect(notReadyReasons({ leaseHeld: true }, now)).toEqual(['no successful sync yet'])
    expect(notReadyReasons({ leaseHeld: true, lastSyncAt: now - 11_000 }, now, 10_000)).toEqual(['last successful sync 11.0s ago (limit 10s)'])
  })
})

describe('gateway metrics: bounded labels', () => {
  it('classes verdict reasons', () => {
    expect(reasonClass({ state: 'up' })).toBe('')
    expect(reasonClass({ state: 'pending' })).toBe('')
    expect(reasonClass({ state: 'down', reason: 'HAProxy refused it: Invalid address' })).toBe('haproxy_refused')
    expect(reasonClass({ state: 'down', reason: "HAProxy's check failed (L7STS 500)" })).toBe('check_failed')
    expect(reasonClass({ state: 'down', reason: "GET /health from the gateway's host answered 404, expected HTTP 200" })).toBe('health_path_failed')
    expect(reasonClass({ state: 'down', reason: 'value "x" is not ip:port' })).toBe('bad_key')
  })
  it('puts each server in one state', () => {
    const none = new Set<string>()
    expect(serverState(srv({}), none, none)).toBe('up')
    expect(serverState(srv({ opState: 0, checkResult: 2 }), none, none)).toBe('down')
    expect(serverState(srv({ weight: 0 }), none, new Set(['a']))).toBe('pending')
    expect(serverState(srv({ adminState: 0x08 }), none, none)).toBe('draining')
    expect(serverState(srv({}), new Set(['a']), none)).toBe('draining')
    expect(serverState(srv({ adminState: 0x01 }), none, none)).toBe('maintenance')
  })
})

describe('starter config with TLS', () => {
  it('binds the crt directory with TLS and redirects plain HTTP', () => {
    const text = renderStarterConfig({ frontendBind: ':80', tls: { certDir: '/etc/haproxy/certs', bind: ':443' } })
    expect(text).toMatch(/^ {2}bind :80$/m)
    expect(text).toMatch(/^ {2}bind :443 ssl crt \/etc\/haproxy\/certs alpn h2,http\/1\.1$/m)
    expect(text).toMatch(/^ {2}http-request redirect scheme https code 301 unless \{ ssl_fc \}$/m)
  })
  it('has no TLS without it', () => {
    expect(renderStarterConfig({})).not.toMatch(/ssl|redirect/)
  })
})

describe('service examples', () => {
  const unit = readFileSync('examples/systemd/forrest-gateway.service', 'utf8')
  const envFile = readFileSync('examples/systemd/forrest-gateway.env', 'utf8')
  it('the unit uses only variables its environment file sets, and never a password there', () => {
    const defined = new Set([...envFile.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]))
    const used = new Set([...unit.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]))
    expect(used.size).toBeGreaterThan(0)
    for (const v of used) expect(defined, v).toContain(v)
    expect(envFile).not.toMatch(/^ETCDCTL_PASSWORD=/m)
    expect(unit).toMatch(/^ExecStartPre=\/usr\/bin\/forrest gateway --check /m)
  })
  it('does not restart on exit codes a restart cannot fix', () => {
    const codes = /^RestartPreventExitStatus=(.*)$/m.exec(unit)?.[1].split(' ').map(Number)
    expect(codes).toEqual([EXIT.badInput, EXIT.etcdTls, EXIT.etcdAuth, EXIT.etcdPermission])
  })
  it("the Grafana dashboard queries only metrics the gateway exports (or HAProxy's exporter)", () => {
    const source = readFileSync('src/gateway/metrics.ts', 'utf8')
    const dashboard = JSON.parse(readFileSync('examples/grafana/forrest-gateway.json', 'utf8')) as { panels: { targets: { expr: string }[] }[] }
    const names = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\b(forrest_gateway_\w+?)(?:_bucket|_count|_sum)?\b(?=[{[)\s]|$)/g)].map((m) => m[1])))
    expect(names.length).toBeGreaterThan(10)
    for (const n of new Set(names)) expect(source, n).toContain(`'${n}'`)
  })
})
