import { describe, expect, it } from 'vitest'
import { bindIpFor, checkPrefixAgainstRoot, detectIp, etcdUrls, normalizePrefix, parseEtcdHosts, parseLabels, probeHostOf, resolveConfig, resolveEtcdSecurity } from '../../src/config.js'
import { etcdRefusal } from '../../src/registry/etcd-refusal.js'
import { EXIT, ForrestError, exitCodeFor, formatError, toForrestError } from '../../src/errors.js'

const ifaces = {
  lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
  eth0: [{ address: '10.1.2.3', family: 'IPv4', internal: false }],
} as never

describe('resolveConfig', () => {
  it('uses the original defaults', () => {
    const c = resolveConfig({}, {}, ifaces)
    expect(c).toMatchObject({ etcdHosts: ['127.0.0.1:2379'], prefix: 'app/servers', ip: '10.1.2.3', ipSource: 'detected', bindIp: '10.1.2.3', recordsRoot: 'forrest', lockTtlSec: 10 })
  })
  it('reads ETCD_HOST, ETCD_PREFIX, FORREST_IP', () => {
    const c = resolveConfig({ ETCD_HOST: 'a:1, b:2', ETCD_PREFIX: '/x/y/', FORREST_IP: '127.0.0.1' }, {}, ifaces)
    expect(c).toMatchObject({ etcdHosts: ['a:1', 'b:2'], prefix: 'x/y', ip: '127.0.0.1', ipSource: 'FORREST_IP', bindIp: '127.0.0.1' })
  })
  it('publishes on the announced address unless FORREST_BIND_IP says otherwise', () => {
    expect(resolveConfig({ FORREST_IP: '10.0.0.7' }, {}, ifaces)).toMatchObject({ bindIp: '10.0.0.7' })
    expect(resolveConfig({ FORREST_IP: '10.0.0.7', FORREST_BIND_IP: '0.0.0.0' }, {}, ifaces)).toMatchObject({ bindIp: '0.0.0.0', bindOverride: '0.0.0.0' })
    expect(bindIpFor({ bindOverride: undefined }, '127.0.0.3')).toBe('127.0.0.3')
    expect(probeHostOf('0.0.0.0', '10.0.0.7')).toBe('10.0.0.7')
    expect(() => resolveConfig({ FORREST_BIND_IP: 'x' }, {}, ifaces)).toThrow(/FORREST_BIND_IP/)
  })
  it('normalises every spelling of a prefix and refuses one overlapping the records root', () => {
    for (const p of ['/app/servers/', 'app//servers', 'app/servers/']) expect(resolveConfig({ ETCD_PREFIX: p }, {}, ifaces).prefix).toBe('app/servers')
    expect(normalizePrefix('//a///b/')).toBe('a/b')
    expect(() => resolveConfig({ ETCD_PREFIX: '/forrest/x' }, {}, ifaces)).toThrow(/records root/)
    expect(() => resolveConfig({ ETCD_PREFIX: 'x', FORREST_ROOT: 'x/forrest' }, {}, ifaces)).toThrow(/records root/)
    expect(() => checkPrefixAgainstRoot('forrestx/y', 'forrest', 'p')).not.toThrow()
  })
  it('validates FORREST_LOCK_TTL', () => {
    expect(resolveConfig({ FORREST_LOCK_TTL: '3' }, {}, ifaces).lockTtlSec).toBe(3)
    expect(() => resolveConfig({ FORREST_LOCK_TTL: '1' }, {}, ifaces)).toThrow(/FORREST_LOCK_TTL/)
  })
  it('flags win over environment', () => {
    const c = resolveConfig({ ETCD_HOST: 'a:1', FORREST_IP: '127.0.0.1' }, { etcd: 'c:3', ip: '10.9.9.9', prefix: 'p' }, ifaces)
    expect(c).toMatchObject({ etcdHosts: ['c:3'], ip: '10.9.9.9', ipSource: 'flag', prefix: 'p' })
  })
  it('reads FORREST_LABELS', () => {
    expect(resolveConfig({ FORREST_LABELS: 'a=1,b=x=y' }, {}, ifaces).extraLabels).toEqual({ a: '1', b: 'x=y' })
  })
  it.each([
    [{ ETCD_HOST: 'nohostport' }, 'ETCD_HOST'],
    [{ ETCD_HOST: ',' }, 'ETCD_HOST'],
    [{ FORREST_IP: 'example.com' }, 'FORREST_IP'],
    [{ FORREST_IP: '300.1.1.1' }, 'FORREST_IP'],
    [{ ETCD_PREFIX: '/' }, 'ETCD_PREFIX'],
    [{ FORREST_LABELS: 'novalue' }, 'FORREST_LABELS'],
  ])('rejects %o as bad input naming %s', (env, name) => {
    try {
      resolveConfig(env, {}, ifaces)
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ForrestError)
      expect((err as ForrestError).exit).toBe(EXIT.badInput)
      expect((err as ForrestError).message).toContain(name)
      expect((err as ForrestError).suggestion).toBeTruthy()
    }
  })
  it('accepts endpoint URLs', () => expect(parseEtcdHosts('http://a:1')).toEqual(['http://a:1']))
  it('detects loopback when nothing else exists', () => expect(detectIp({ lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }] } as never)).toBe('127.0.0.1'))
  it('parses labels', () => expect(parseLabels('')).toEqual({}))
})

describe('error mapping', () => {
  it('maps every user-facing code to its documented exit number', () => {
    expect(exitCodeFor('INVALID_SPEC')).toBe(2)
    expect(exitCodeFor('ROLLED_BACK')).toBe(3)
    expect(exitCodeFor('ROLLOUT_FAILED')).toBe(4)
    expect(exitCodeFor('LOCK_HELD')).toBe(5)
    expect(exitCodeFor('ETCD_UNREACHABLE')).toBe(6)
    expect(exitCodeFor('DOCKER_UNREACHABLE')).toBe(7)
    expect(exitCodeFor('IMAGE_NOT_FOUND')).toBe(8)
    expect(exitCodeFor('NAME_TAKEN')).toBe(9)
    expect(exitCodeFor('NOT_CONVERGED')).toBe(10)
  })
  it('wraps unknown errors as INTERNAL with a --debug hint', () => {
    const e = toForrestError(new TypeError('boom'))
    expect(e.code).toBe('INTERNAL')
    expect(e.exit).toBe(1)
    expect(formatError(e)).toContain('--debug')
  })
  it('passes typed errors through and formats message + hint', () => {
    const e = new ForrestError('LOCK_HELD', 'held by ci', { suggestion: 'wait' })
    expect(toForrestError(e)).toBe(e)
    expect(formatError(e)).toBe('Error (LOCK_HELD): held by ci\n  Hint: wait')
  })
})

describe('etcd security settings', () => {
  it('reads etcdctl\'s variables; flags win; a password never comes from a flag', () => {
    expect(resolveEtcdSecurity({ ETCDCTL_CACERT: 'ca.pem', ETCDCTL_CERT: 'c.pem', ETCDCTL_KEY: 'k.pem', ETCDCTL_USER: 'forrest', ETCDCTL_PASSWORD: 'pw' })).toEqual({ caFile: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem', user: 'forrest', password: 'pw' })
    expect(resolveEtcdSecurity({ ETCDCTL_USER: 'forrest:pw2' })).toEqual({ user: 'forrest', password: 'pw2' })
    expect(resolveEtcdSecurity({ ETCDCTL_CACERT: 'a' }, { 'etcd-cacert': 'b', 'etcd-user': 'u', 'etcd-password-file': '/run/pw' })).toEqual({ caFile: 'b', user: 'u', passwordFile: '/run/pw' })
  })
  it('refuses half a client certificate, a password without a user, an empty user', () => {
    expect(() => resolveEtcdSecurity({ ETCDCTL_CERT: 'c.pem' })).toThrow(/certificate and key go together/)
    expect(() => resolveEtcdSecurity({ ETCDCTL_PASSWORD: 'x' })).toThrow(/password was given without a user/)
    expect(() => resolveEtcdSecurity({ ETCDCTL_USER: ':pw' })).toThrow(/user name is empty/)
  })
  it('https for endpoints without a scheme once TLS is configured', () => {
    expect(etcdUrls(['a:1', 'http://b:2'], { caFile: 'ca' })).toEqual(['https://a:1', 'http://b:2'])
    expect(etcdUrls(['a:1'], {})).toEqual(['http://a:1'])
  })
  it('maps etcd refusals to their own typed errors', () => {
    expect(etcdRefusal(new Error('7 PERMISSION_DENIED: etcdserver: permission denied'), 'write /x')).toMatchObject({ code: 'ETCD_PERMISSION_DENIED', exit: 15 })
    expect(etcdRefusal(new Error('3 INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password'))).toMatchObject({ code: 'ETCD_AUTH_FAILED', exit: 14 })
    expect(etcdRefusal(new Error('etcdserver: user name is empty'))).toMatchObject({ code: 'ETCD_AUTH_FAILED' })
    expect(etcdRefusal(new Error('14 UNAVAILABLE: No connection established'))).toBeUndefined()
  })
})
