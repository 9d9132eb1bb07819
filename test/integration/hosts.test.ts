/**
 * Several Docker hosts (issue #13): the local engine plus the lab's h1 (mutual TLS) and h2 (ssh,
 * known_hosts checked), each in its own network namespace with its own address. One deploy
 * places and rolls an app across all three: even spread, global bounds, probes where the load
 * balancer reaches, a host that does not answer stops the deploy before any change (or is left
 * alone with --allow-unreachable-hosts), placement labels move instances within the bounds.
 * Needs scripts/lab/up.sh (run by .ci/run): fails, never skips, without it.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { forrest, httpGet, testRun } from '../helpers/cli.js'
import { startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { labEnvVars } from '../helpers/lab.js'
import { specFile } from '../helpers/spec-file.js'

const run = promisify(execFile)


const t = testRun('hosts')
const app = `h${t.id.slice(-6)}`
const label = t.label

describe('one deploy across three Docker hosts (local, TLS, ssh)', () => {
  let lab: Record<string, string>
  let etcd: TestEtcd
  let client: Etcd3
  let env: NodeJS.ProcessEnv
  let image: (tag: string) => string

  /** The docker CLI against the local engine, h1 or h2 (both over TLS, as an admin would). */
  const dockerOn = async (host: 'local' | 'h1' | 'h2', ...args: string[]) => {
    const tls = host === 'local' ? [] : ['--tlsverify', '--tlscacert', `${lab.FORREST_LAB_CERT_PATH}/ca.pem`, '--tlscert', `${lab.FORREST_LAB_CERT_PATH}/cert.pem`, '--tlskey', `${lab.FORREST_LAB_CERT_PATH}/key.pem`, '-H', host === 'h1' ? lab.FORREST_LAB_H1_TLS! : lab.FORREST_LAB_H2_TLS!]
    const { stdout } = await run('docker', [...tls, ...args], { env: { ...process.env, DOCKER_CONFIG: lab.FORREST_LAB_DOCKER_CONFIG, DOCKER_HOST: '' } })
    return stdout.trim()
  }
  const containersOn = async (host: 'local' | 'h1' | 'h2') => (await dockerOn(host, 'ps', '-q', '--filter', `label=${label}`, '--filter', `label=forrest.app=${app}`)).split('\n').filter(Boolean)
  const hostsBlock = (h2Docker?: string) => [
    { name: 'local', docker: 'unix:///var/run/docker.sock', address: '127.0.0.1', labels: { pool: 'a' } },
    { name: 'h1', docker: lab.FORREST_LAB_H1_TLS, address: '10.213.0.11', tls: { certPath: lab.FORREST_LAB_CERT_PATH }, labels: { pool: 'a' } },
    { name: 'h2', docker: h2Docker ?? lab.FORREST_LAB_H2_SSH, address: '10.213.0.12', ssh: { identityFile: lab.FORREST_LAB_SSH_KEY, knownHosts: lab.FORREST_LAB_SSH_KNOWN_HOSTS }, tls: { certPath: lab.FORREST_LAB_CERT_PATH }, labels: { pool: 'b' } },
  ]
  const base = () => ({ name: app, replicas: 6, hosts: hostsBlock(), 'health.interval': '100ms', 'health.deadline': '10s', 'update.drain': '100ms', 'update.stopGracePeriod': '1s', 'update.maxSurge': 3 })
  const keys = async () => Object.fromEntries(Object.entries(await client.getAll().prefix(`/${t.prefix}/`).strings()).map(([k, v]) => [k.split('/').at(-1)!, v]))

  beforeAll(async () => {
    lab = labEnvVars()
    image = (tag) => `${lab.FORREST_LAB_REGISTRY}/demo/myapp:${tag}`
    etcd = await startEtcd()
    client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
    // forrest pulls from the lab registry with the lab's docker login (one digest on every host).
    env = { ...t.env(etcd.endpoint), DOCKER_HOST: '', DOCKER_CONFIG: lab.FORREST_LAB_DOCKER_CONFIG! }
  }, 120_000)

  afterAll(async () => {
    for (const h of ['local', 'h1', 'h2'] as const) {
      const ids = await dockerOn(h, 'ps', '-aq', '--filter', `label=${label}`).catch(() => '')
      if (ids) await dockerOn(h, 'rm', '-f', ...ids.split('\n'))
    }
    client?.close()
    await etcd?.stop()
  }, 60_000)

  it('spreads 6 replicas 2 per host, announced at each host\'s address, each answering there', async () => {
    const res = await forrest(['deploy', specFile(`${app}-v1`, { ...base(), image: image('1') })], env, 120_000)
    expect(res.code, res.stdout + res.stderr).toBe(0)
    for (const h of ['local', 'h1', 'h2'] as const) expect(await containersOn(h)).toHaveLength(2)
    const k = await keys()
    expect(Object.keys(k)).toHaveLength(6)
    expect(Object.values(k).map((a) => a.split(':')[0]).sort()).toEqual(['10.213.0.11', '10.213.0.11', '10.213.0.12', '10.213.0.12', '127.0.0.1', '127.0.0.1'])
    for (const addr of Object.values(k)) expect((await httpGet(addr)).body).toBe('v1')
    const records = Object.values(await client.getAll().prefix(`/forrest/apps/${app}/instances/`).strings()).map((v) => JSON.parse(v).host).sort()
    expect(records).toEqual(['h1', 'h1', 'h2', 'h2', 'local', 'local'])
    const status = await forrest(['status', app, '--json'], env)
    expect(status.code, status.stdout + status.stderr).toBe(0)
    expect(JSON.parse(status.stdout).apps[0].instances.map((i: { host: string }) => i.host).sort()).toEqual(['h1', 'h1', 'h2', 'h2', 'local', 'local'])
  }, 180_000)

  it('rolls to v2 on all hosts at once, never below 6 serving, the spread kept', async () => {
    // Given v1 on all three hosts (a no-op after the test above; alone, the v2 deploy would be a
    // first deploy, all 6 in one wave).
    const given = await forrest(['deploy', specFile(`${app}-v1`, { ...base(), image: image('1') })], env, 120_000)
    expect(given.code, given.stdout + given.stderr).toBe(0)
    let minServing = Number.POSITIVE_INFINITY
    let polls = 0
    let polling = true
    const poller = (async () => {
      while (polling) {
        const ok = await Promise.all(Object.values(await keys()).map((a) => httpGet(a, 1000).then((r) => r.status === 200, () => false)))
        minServing = Math.min(minServing, ok.filter(Boolean).length)
        polls++
        await new Promise((r) => setTimeout(r, 50)) // poll interval
      }
    })()
    try {
      const res = await forrest(['deploy', specFile(`${app}-v2`, { ...base(), image: image('2') }), '--json'], env, 180_000)
      expect(res.code, res.stdout + res.stderr).toBe(0)
      const plan = JSON.parse(res.stdout).plan
      // maxSurge 3: each wave starts one new instance on each host.
      expect(plan.waves[0].starts.map((s: { host: string }) => s.host).sort()).toEqual(['h1', 'h2', 'local'])
    } finally {
      polling = false
      await poller
    }
    // The minimum starts at +Infinity: it means something only if polls ran during the rollout.
    expect(polls).toBeGreaterThan(5)
    expect(minServing).toBeGreaterThanOrEqual(6)
    for (const h of ['local', 'h1', 'h2'] as const) expect(await containersOn(h)).toHaveLength(2)
    for (const addr of Object.values(await keys())) expect((await httpGet(addr)).body).toBe('v2')
  }, 240_000)

  it('a host that does not answer stops the deploy before any change (exit 7, named); --allow-unreachable-hosts rolls the others and leaves it alone', async () => {
    const before = await keys()
    const file = specFile(`${app}-down`, { ...base(), image: image('1'), hosts: hostsBlock('tcp://10.213.0.12:2399') })
    const res = await forrest(['deploy', file], env, 120_000)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.dockerUnreachable)
    expect(res.stderr).toMatch(/host h2 \(tcp:\/\/10\.213\.0\.12:2399\)/)
    expect(await keys()).toEqual(before)

    const partial = await forrest(['deploy', file, '--allow-unreachable-hosts'], env, 180_000)
    expect(partial.code, partial.stdout + partial.stderr).toBe(0)
    expect(partial.stdout).toMatch(/host h2 .* did not answer: nothing on it is touched/)
    // h2's instances (its keys, its containers) are untouched; the others serve v1, spread over local and h1.
    const after = await keys()
    for (const [name, addr] of Object.entries(before)) if (addr.startsWith('10.213.0.12:')) expect(after[name]).toBe(addr)
    expect(await containersOn('h2')).toHaveLength(2)
    expect(await containersOn('local')).toHaveLength(3)
    expect(await containersOn('h1')).toHaveLength(3)
  }, 300_000)

  it('placement labels move instances off a host within the bounds', async () => {
    const res = await forrest(['deploy', specFile(`${app}-pool`, { ...base(), image: image('1'), placement: { labels: { pool: 'a' } } })], env, 180_000)
    expect(res.code, res.stdout + res.stderr).toBe(0)
    expect(await containersOn('h2')).toHaveLength(0)
    expect((await containersOn('local')).length + (await containersOn('h1')).length).toBe(6)
    expect(Object.values(await keys()).some((a) => a.startsWith('10.213.0.12:'))).toBe(false)
  }, 240_000)
})
