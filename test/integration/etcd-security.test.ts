/**
 * Secure by default (issue #12): forrest against a 3-member etcd cluster with TLS on every URL,
 * client certificates required and authentication on, as users holding only forrest's role
 * (deploy) and the gateway's (gateway); every refusal named with its own exit code; a member
 * killed mid-rollout under load; secrets that never reach etcd, output or the gateway's log.
 */
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, removeByLabel, testRun, type CliResult } from '../helpers/cli.js'
import { pollUntil } from '../helpers/etcd.js'
import { startSecureEtcd, type SecureEtcd } from '../helpers/etcd-secure.js'
import { startGatewayCli, type GatewayCli } from '../helpers/gateway-cli.js'
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js'
import { startLoad } from '../helpers/load.js'
import { establishedPeerPorts, pidsByCmdline } from '../helpers/proc-net.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('etcdsec')
// The forrest role covers /app/ and /forrest/: instance keys under app/<run>.
const prefix = `app/${run.id}`
const app = `s${run.id.slice(-6)}`
const SECRET = `pw-${run.id}-s3cr3t`
const FILE_SECRET = `tok-${run.id}-f1le`
const base = { name: app, replicas: 3, 'health.interval': '100ms', 'health.deadline': '5s', 'update.drain': '100ms', 'update.stopGracePeriod': '1s', 'gateways.required': 1 }

describe('etcd with TLS and authentication (3 members), least privilege, secrets', () => {
  let etcd: SecureEtcd
  let haproxy: TestHaproxy
  let gateway: GatewayCli
  let envFile: string
  const outputs: CliResult[] = []
  // The envFile lives in the temp dir, beside (not below) the spec files: allowed explicitly.
  const env = (extra: Record<string, string> = {}) => ({ ...run.env(''), ...etcd.env('forrest'), ETCD_PREFIX: prefix, DB_PASSWORD: SECRET, FORREST_SECRETS_DIR: tmpdir(), ...extra })
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    const res = await forrest(args, env(extra), 90_000)
    outputs.push(res)
    return res
  }
  const spec = (name: string, over: Record<string, unknown>) => specFile(`${app}-${name}`, { ...base, env: { DB_PASSWORD: { fromEnv: 'DB_PASSWORD' }, PLAIN: 'visible' }, envFile, ...over })

  beforeAll(async () => {
    ;[etcd, haproxy] = await Promise.all([startSecureEtcd(), startHaproxy()])
    envFile = join(tmpdir(), `${run.id}.env`)
    await writeFile(envFile, `API_TOKEN=${FILE_SECRET}\n`)
    gateway = await startGatewayCli({ socket: haproxy.socket, env: { ...run.env(''), ...etcd.env('gateway'), ETCD_PREFIX: prefix }, id: `gw-${run.id}`, serversFile: haproxy.configPath })
  }, 90_000)

  afterAll(async () => {
    await gateway?.stop()
    await removeByLabel(run.label)
    await Promise.all([haproxy?.stop(), etcd?.stop()])
  }, 60_000)

  it('deploys over mutual TLS as a user with only the forrest role; the gateway runs with only its role', async () => {
    const res = await cli(['deploy', spec('v1', { image: 'demo/myapp:1' }), '--json'], { DEBUG: 'forrest*' })
    expect(res.code, res.stdout + res.stderr).toBe(0)
    const result = JSON.parse(res.stdout)
    expect(result.timings.steps.filter((s: { detail: string }) => /HAProxy serves it/.test(s.detail))).toHaveLength(3)
    const body = await (await fetch(`${haproxy.url}/`)).text()
    expect(body.trim()).toBe('v1')
    // The secrets reached the containers.
    const [id] = (await docker('ps', '-q', '--filter', `label=forrest.app=${app}`)).split('\n')
    const containerEnv = await docker('inspect', '-f', '{{json .Config.Env}}', id!)
    expect(containerEnv).toContain(`DB_PASSWORD=${SECRET}`)
    expect(containerEnv).toContain(`API_TOKEN=${FILE_SECRET}`)
  })

  /** Instance keys under the run's prefix, as etcd (root) has them. */
  const instanceKeys = async () => (await etcd.ctl('get', `/${prefix}/`, '--prefix')).split('\n').filter(Boolean)

  it('names every refusal with its own exit code and changes nothing', async () => {
    // Given v1 (already current when the file runs in order; deployed here when this test runs alone).
    const given = await cli(['deploy', spec('v1', { image: 'demo/myapp:1' })])
    expect(given.code, given.stdout + given.stderr).toBe(0)
    const keysBefore = await instanceKeys()
    expect(keysBefore.filter((k) => k.startsWith(`/${prefix}/${app}-r1-`))).toHaveLength(base.replicas)
    const file = spec('v2', { image: 'demo/myapp:2' })
    const cases: Array<[string, Record<string, string>, number, RegExp]> = [
      ['bad password', { ETCDCTL_PASSWORD: 'wrong' }, EXIT.etcdAuth, /rejected the user name or password/],
      ['unknown authority', { ETCDCTL_CACERT: etcd.files.rogueCa }, EXIT.etcdTls, /unknown authority/],
      ['client certificate refused', { ETCDCTL_CERT: etcd.files.rogueCert, ETCDCTL_KEY: etcd.files.rogueKey }, EXIT.etcdTls, /refused forrest's client certificate/],
      ['plain http to a TLS etcd', { ETCD_HOST: etcd.endpoints.replace(/https:/g, 'http:'), ETCDCTL_CACERT: '', ETCDCTL_CERT: '', ETCDCTL_KEY: '' }, EXIT.etcdTls, /speaks TLS/],
      ['a prefix outside the role', { ETCD_PREFIX: `other/${run.id}` }, EXIT.etcdPermission, /permission denied/],
    ]
    for (const [what, extra, exit, message] of cases) {
      const res = await cli(['deploy', file], extra)
      expect(res.code, `${what}: ${res.stdout}${res.stderr}`).toBe(exit)
      expect(res.stderr, what).toMatch(message)
      expect(res.stderr, what).not.toMatch(/\n\s+at /) // no stack trace without --debug
    }
    // Keys and values (address) exactly as before: no refused deploy wrote or removed one.
    expect(await instanceKeys()).toEqual(keysBefore)
  }, 120_000)

  it('a rollback to a revision whose secret cannot be resolved says so before touching anything', async () => {
    // Given two revisions that ran with the secret, whatever ran before: v1, then v2 (current).
    for (const v of ['v1', 'v2']) {
      const given = await cli(['deploy', spec(v, { image: `demo/myapp:${v.slice(1)}` })])
      expect(given.code, given.stdout + given.stderr).toBe(0)
    }
    const before = await docker('ps', '-q', '--filter', `label=forrest.app=${app}`)
    const { DB_PASSWORD: _unset, ...withoutSecret } = env()
    const unset = await forrest(['rollback', app], withoutSecret)
    outputs.push(unset)
    expect(unset.code, unset.stdout + unset.stderr).toBe(EXIT.badInput)
    expect(unset.stderr).toMatch(/env\.DB_PASSWORD of .* comes from \$DB_PASSWORD, which is not set/)
    // A value other than the one revision 1 ran with is refused too (its fingerprint differs).
    const rotated = await cli(['rollback', app], { DB_PASSWORD: 'rotated-value' })
    expect(rotated.code, rotated.stdout + rotated.stderr).toBe(EXIT.badInput)
    expect(rotated.stderr).toMatch(/ran with other values of env\.DB_PASSWORD/)
    expect(await docker('ps', '-q', '--filter', `label=forrest.app=${app}`)).toBe(before)
  })

  it('secrets appear nowhere: not in the etcd keyspace, not in any command output, not in the gateway log', async () => {
    // Every command succeeds (exit 0), so each has printed what it prints: a command that failed
    // before printing would make the leak check below trivially true. The deploys come first so
    // the test stands alone: v3 is deployed (or already current), then the reads have an app.
    const v3 = spec('v3', { image: 'demo/myapp:1' })
    for (const args of [['deploy', v3, '--json'], ['deploy', v3, '--debug'], ['history', app], ['history', app, '--json'], ['status', app], ['status', app, '--json'], ['diff', v3]]) {
      const res = await cli(args)
      expect(res.code, `${args.join(' ')}: ${res.stdout}${res.stderr}`).toBe(0)
      expect(res.stdout.length, `${args.join(' ')} printed nothing`).toBeGreaterThan(0)
    }
    const keyspace = await etcd.ctl('get', '', '--from-key')
    expect(keyspace).toContain(`/forrest/apps/${app}/revisions/`)
    expect(keyspace).toContain('DB_PASSWORD')
    for (const secret of [SECRET, FILE_SECRET]) {
      expect(keyspace).not.toContain(secret)
      for (const out of outputs) expect(out.stdout + out.stderr).not.toContain(secret)
      expect(JSON.stringify(gateway.events) + gateway.stderr()).not.toContain(secret)
    }
  }, 120_000)
  it('the member forrest talks to is killed mid-rollout under load: it completes, the lock stays correct, no request fails; the next deploy works too', async () => {
    const given = await cli(['deploy', spec('v1', { image: 'demo/myapp:1' })])
    expect(given.code, given.stdout + given.stderr).toBe(0)
    const revisionBefore = JSON.parse(await etcd.ctl('get', `/forrest/apps/${app}/current`, '--print-value-only')).revision as number
    const load = startLoad({ url: `${haproxy.url}/`, concurrency: 4, pauseMs: 10, maxDurationMs: 90_000 })
    let killed = 0
    try {
      const v2 = spec('v2', { image: 'demo/myapp:2' })
      const deploying = cli(['deploy', v2])
      await pollUntil(async () => (await docker('ps', '-q', '--filter', `label=forrest.app=${app}`)).split('\n').length > base.replicas, { what: 'a v2 container' })
      // The member this deploy is connected to right now (its process's established TCP
      // connections, from /proc): etcd3 picks a member per call, so that is the one it is using.
      const members = new Map([1, 2, 3].map((i) => [etcd.port(i), i]))
      await pollUntil(async () => {
        const [pid] = await pidsByCmdline('bin/run.js', 'deploy', v2)
        const ports = pid ? await establishedPeerPorts(pid) : []
        killed = ports.map((p) => members.get(p)).find((i) => i !== undefined) ?? 0
        return killed > 0
      }, { timeoutMs: 10_000, intervalMs: 20, what: 'the deploy to hold a connection to an etcd member' })
      await etcd.kill(killed)
      console.info(`[etcdsec] killed member ${killed} (port ${etcd.port(killed)}), which the deploy was connected to`)
      const res = await deploying
      expect(res.code, res.stdout + res.stderr).toBe(0)
    } finally {
      const report = await load.stop()
      expect(report.sent).toBeGreaterThan(100)
      expect(report.samples.filter((s) => s.status !== 200).slice(0, 3)).toEqual([])
      if (killed) await etcd.start(killed)
    }
    expect(await etcd.ctl('get', `/forrest/locks/${app}`)).toBe('')
    const current = JSON.parse(await etcd.ctl('get', `/forrest/apps/${app}/current`, '--print-value-only'))
    expect(current.revision).toBe(revisionBefore + 1)
    expect(JSON.parse(await etcd.ctl('get', `/forrest/apps/${app}/revisions/${String(current.revision).padStart(6, '0')}`, '--print-value-only')).outcome).toBe('succeeded')
    // With the member back, the next deploy works too: the gateway still acknowledges.
    const after = await cli(['deploy', spec('v1', { image: 'demo/myapp:1' })])
    expect(after.code, after.stdout + after.stderr).toBe(0)
  }, 150_000)
})
