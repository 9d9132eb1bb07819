import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { dockerOptions, parseEndpoint } from '../../src/hosts/endpoint.js'
import { knownHostsAccepts } from '../../src/hosts/known-hosts.js'
import { desiredPerHost } from '../../src/plan/placement.js'
import { loadSpec } from '../../src/spec/load.js'

const key = randomBytes(51)
const other = randomBytes(51)
const b64 = key.toString('base64')

describe('Docker endpoints', () => {
  it('parses unix, tcp and ssh as the docker CLI writes them', () => {
    expect(parseEndpoint('unix:///var/run/docker.sock')).toEqual({ kind: 'unix', path: '/var/run/docker.sock' })
    expect(parseEndpoint('tcp://10.0.0.5:2376')).toEqual({ kind: 'tcp', host: '10.0.0.5', port: 2376 })
    expect(parseEndpoint('ssh://deploy@10.0.0.5')).toEqual({ kind: 'ssh', user: 'deploy', host: '10.0.0.5', port: 22 })
    expect(parseEndpoint('ssh://deploy@h:2222')).toEqual({ kind: 'ssh', user: 'deploy', host: 'h', port: 2222 })
    expect(() => parseEndpoint('http://x')).toThrow(/is not unix/)
  })

  it('sets every connection field, so DOCKER_HOST in the environment cannot redirect it', () => {
    const o = dockerOptions('h', parseEndpoint('unix:///tmp/x.sock'), {}, { DOCKER_HOST: 'tcp://elsewhere:2376' }) as Record<string, unknown>
    expect(o.socketPath).toBe('/tmp/x.sock')
    expect('host' in o && o.host === undefined && 'port' in o && o.port === undefined).toBe(true)
    const plain = dockerOptions('h', parseEndpoint('tcp://10.0.0.5:2375'), { tls: { verify: false } }, {}) as Record<string, unknown>
    expect(plain).toMatchObject({ protocol: 'http', host: '10.0.0.5', port: 2375 })
    expect(() => dockerOptions('h9', parseEndpoint('tcp://10.0.0.5:2376'), { tls: { certPath: '/nonexistent' } }, {})).toThrow(/host h9: cannot read the TLS/)
  })
})

describe('known_hosts', () => {
  it('accepts the recorded key for the host (plain, [host]:port, comma lists, hashed) and nothing else', () => {
    expect(knownHostsAccepts(`10.0.0.5,web ssh-ed25519 ${b64}\n`, '10.0.0.5', 22, key)).toBe(true)
    expect(knownHostsAccepts(`10.0.0.5 ssh-ed25519 ${b64}\n`, '10.0.0.5', 22, other)).toBe(false)
    expect(knownHostsAccepts(`10.0.0.6 ssh-ed25519 ${b64}\n`, '10.0.0.5', 22, key)).toBe(false)
    expect(knownHostsAccepts(`[10.0.0.5]:2222 ssh-ed25519 ${b64}\n`, '10.0.0.5', 2222, key)).toBe(true)
    expect(knownHostsAccepts(`10.0.0.5 ssh-ed25519 ${b64}\n`, '10.0.0.5', 2222, key)).toBe(false)
    const salt = randomBytes(20)
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('10.0.0.5').digest('base64')}`
    expect(knownHostsAccepts(`${hashed} ssh-ed25519 ${b64}\n`, '10.0.0.5', 22, key)).toBe(true)
    expect(knownHostsAccepts(`${hashed} ssh-ed25519 ${b64}\n@revoked 10.0.0.5 ssh-ed25519 ${b64}\n`, '10.0.0.5', 22, key)).toBe(false)
  })
})

describe('hosts in the deployment file', () => {
  const file = (hosts: string) => `name: web\nimage: nginx:1\nhosts:\n${hosts}`
  it('validates each host and refuses duplicates and an announce.address beside them', () => {
    const ok = loadSpec(file('  - {name: a, docker: "tcp://10.0.0.1:2376", address: 10.0.0.1, labels: {zone: x}}\n  - {name: b, docker: "ssh://root@10.0.0.2", address: 10.0.0.2}\n'), 'w.yml')
    expect(ok.hosts?.map((h) => h.name)).toEqual(['a', 'b'])
    expect(() => loadSpec(file('  - {name: a, docker: "tcp://10.0.0.1:2376", address: 10.0.0.1}\n  - {name: a, docker: "tcp://10.0.0.2:2376", address: 10.0.0.2}\n'), 'w.yml')).toThrow(/hosts\[1\]\.name: the same name as hosts\[0\]/)
    expect(() => loadSpec(file('  - {name: a, docker: "http://x", address: 10.0.0.1}\n'), 'w.yml')).toThrow(/hosts\[0\]\.docker/)
    expect(() => loadSpec(`${file('  - {name: a, docker: "tcp://10.0.0.1:2376", address: 10.0.0.1}\n')}announce: {address: 10.0.0.9}\n`, 'w.yml')).toThrow(/each host has its own address/)
    expect(() => loadSpec(`${file('  - {name: a, docker: "tcp://10.0.0.1:2376", address: 10.0.0.1}\n')}placement: {labels: {zone: y}}\n`, 'w.yml')).toThrow(/no host carries all these labels/)
  })

  it('desired counts differ by at most one and follow what already runs', () => {
    expect([...desiredPerHost(5, ['a', 'b', 'c'], new Map([['c', 2]]))]).toEqual([['a', 2], ['b', 1], ['c', 2]])
  })
})
