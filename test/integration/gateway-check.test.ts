/**
 * `forrest gateway --check` against a real HAProxy and a production-like etcd (TLS, auth, a
 * gateway role with least privilege): each problem has its own message and exit code, and the
 * check writes nothing (no probe key a deploy could take for a gateway).
 */
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { forrest, testRun } from '../helpers/cli.js'
import { startSecureEtcd, type SecureEtcd } from '../helpers/etcd-secure.js'
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js'

const run = testRun('gwcheck')
const prefix = `app/${run.id}`

describe('forrest gateway --check (real HAProxy, etcd with TLS and auth)', () => {
  let etcd: SecureEtcd
  let haproxy: TestHaproxy
  const env = (user: 'gateway' | 'root' | 'gwro', extra: Record<string, string> = {}) => ({
    ...run.env(''),
    ...(user === 'gwro' ? { ...etcd.env('gateway'), ETCDCTL_USER: 'gwro', ETCDCTL_PASSWORD: 'gwro-pw' } : etcd.env(user)),
    ETCD_PREFIX: prefix,
    ...extra,
  })

  beforeAll(async () => {
    ;[etcd, haproxy] = await Promise.all([startSecureEtcd(), startHaproxy()])
    // A role that can read what the gateway reads but not write its acknowledgement.
    await etcd.ctl('role', 'add', 'gwro')
    await etcd.ctl('role', 'grant-permission', 'gwro', 'read', '/app/', '--prefix=true')
    await etcd.ctl('role', 'grant-permission', 'gwro', 'read', '/forrest/', '--prefix=true')
    await etcd.ctl('user', 'add', 'gwro:gwro-pw')
    await etcd.ctl('user', 'grant-role', 'gwro', 'gwro')
  }, 90_000)

  afterAll(async () => {
    await Promise.all([haproxy?.stop(), etcd?.stop()])
  }, 60_000)

  it('passes with the gateway role, lists what it checked, and writes nothing', async () => {
    const res = await forrest(['gateway', '--check', '--socket', haproxy.socket, '--servers-file', haproxy.configPath], env('gateway'))
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.ok)
    expect(res.stdout).toMatch(/^ok {2}HAProxy admin socket .* answers \(worker pid \d+\)$/m)
    expect(res.stdout).toMatch(/^ok {2}HAProxy backend app exists \(0 servers\)$/m)
    expect(res.stdout).toMatch(/^ok {2}servers file .* has the forrest:servers block and is writable$/m)
    expect(res.stdout).toMatch(new RegExp(`^ok {2}etcd: write /forrest/gateways/.*gateway-check \\(checked, nothing written\\)$`, 'm'))
    expect(await etcd.ctl('get', '/forrest/gateways/', '--prefix', '--keys-only')).toBe('')
  })

  it('names each problem with its exit code', async () => {
    const noBlock = join(tmpdir(), `${run.id}-plain.cfg`)
    await writeFile(noBlock, 'backend app\n  balance roundrobin\n')
    const cases: Array<[string, string[], NodeJS.ProcessEnv, number, RegExp]> = [
      ['no socket', ['--socket', join(tmpdir(), `${run.id}-none.sock`)], env('gateway'), EXIT.failed, /HAProxy admin socket .*none\.sock did not answer/],
      ['unknown backend', ['--socket', haproxy.socket, '--backend', 'nope'], env('gateway'), EXIT.badInput, /HAProxy has no backend "nope"/],
      ['servers file without the block', ['--socket', haproxy.socket, '--servers-file', noBlock], env('gateway'), EXIT.badInput, /forrest:servers/],
      ['a prefix outside the role', ['--socket', haproxy.socket], env('gateway', { ETCD_PREFIX: `other/${run.id}` }), EXIT.etcdPermission, /access \(read \/other\/gwcheck-\w+\/\): permission denied/],
      ['no write on the acknowledgements', ['--socket', haproxy.socket], env('gwro'), EXIT.etcdPermission, /access \(write \/forrest\/gateways\/.*gateway-check\): permission denied/],
      ['a bad --metrics address', ['--socket', haproxy.socket, '--metrics', 'nope'], env('gateway'), EXIT.badInput, /--metrics "nope" is not a listen address/],
      ['--tls-certs without --init-config', ['--socket', haproxy.socket, '--tls-certs', '/etc/haproxy/certs'], env('gateway'), EXIT.badInput, /--tls-certs goes with --init-config/],
      ['bad password', ['--socket', haproxy.socket], env('gateway', { ETCDCTL_PASSWORD: 'wrong' }), EXIT.etcdAuth, /rejected the user name or password/],
    ]
    for (const [what, args, e, exit, message] of cases) {
      const res = await forrest(['gateway', '--check', ...args], e)
      expect(res.code, `${what}: ${res.stdout}${res.stderr}`).toBe(exit)
      expect(res.stderr, what).toMatch(message)
      expect(res.stdout, what).not.toMatch(/^ok {2}etcd/m)
    }
    expect(await etcd.ctl('get', '/forrest/gateways/', '--prefix', '--keys-only')).toBe('')
  }, 60_000)
})
