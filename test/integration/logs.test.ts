import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { LAB_ENV_FILE } from '../helpers/lab.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('logs')
const app = `l${run.id.slice(-6)}`
let etcd: TestEtcd
let env: NodeJS.ProcessEnv

// Each instance says hello on stdout and stderr, then ticks every 200 ms while httpd serves.
const script = 'echo "hello $GREETING"; echo "warn $GREETING" >&2; (i=0; while sleep 0.2; do i=$((i+1)); echo "tick $i"; done) & exec /bin/httpd -f -p 8080 -h /www'
const spec = (replicas: number) =>
  specFile(`${app}-${replicas}`, {
    name: app,
    replicas,
    image: 'demo/myapp:1',
    command: ['/bin/sh', '-c', script],
    env: { GREETING: 'world' },
    'health.interval': '100ms',
    'health.deadline': '10s',
    'update.drain': '100ms',
    'update.stopGracePeriod': '1s',
  })
const names = async () => (await docker('ps', '-a', '--filter', `label=forrest.app=${app}`, '--filter', 'label=forrest.kind=rollout', '--filter', 'label=forrest.revision', '--format', '{{.Names}}')).split('\n').filter(Boolean).sort()

beforeAll(async () => {
  etcd = await startEtcd()
  env = run.env(etcd.endpoint)
  const res = await forrest(['deploy', spec(2)], env)
  expect(res.code, res.stderr).toBe(0)
  // A container carrying this app's label but another owner: never shown.
  await docker('run', '-d', '-l', run.label, '-l', 'forrest.managed=true', '-l', `forrest.app=${app}`, '-l', 'forrest.kind=rollout', '-l', 'forrest.owner=someone-else/forrest', 'demo/myapp:1', '/bin/sh', '-c', 'echo foreign; sleep 60')
})

afterAll(async () => {
  await removeByLabel(run.label)
  await etcd?.stop()
})

describe('forrest logs', () => {
  it("merges the instances' stdout and stderr, each line prefixed with its instance, in time order", async () => {
    const instances = await names()
    expect(instances).toHaveLength(2)
    const res = await forrest(['logs', app, '--timestamps'], env)
    expect(res.code, res.stderr).toBe(0)
    const lines = res.stdout.trim().split('\n')
    for (const name of instances) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${name} +\\| \\S+Z hello world$`)))
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${name} +\\| \\S+Z warn world$`)))
    }
    expect(res.stdout).not.toContain('foreign')
    const times = lines.map((l) => l.split(' | ')[1]!.split(' ')[0]!)
    expect(times).toEqual([...times].sort())
  })

  it('--tail and --json: the last N lines per instance as one object', async () => {
    const res = await forrest(['logs', app, '--tail', '1', '--json'], env)
    expect(res.code, res.stderr).toBe(0)
    const out = JSON.parse(res.stdout)
    expect(out.app).toBe(app)
    expect(out.instances.map((i: { name: string }) => i.name).sort()).toEqual(await names())
    expect(out.lines).toHaveLength(2)
    const all = JSON.parse((await forrest(['logs', app, '--json'], env)).stdout)
    expect(all.lines).toContainEqual(expect.objectContaining({ stream: 'stderr', text: 'warn world', host: 'local' }))
  })

  it('--follow streams new lines, picks up an instance started meanwhile, and ends on Ctrl-C with exit 0', async () => {
    const child = spawn(process.execPath, ['bin/run.js', 'logs', app, '--follow', '--tail', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
    try {
      const before = await names()
      await pollUntil(() => before.every((n) => new RegExp(`^${n} +\\| tick \\d+$`, 'm').test(out)), { timeoutMs: 15_000, what: `ticks from ${before.join(', ')} in:\n${out}${err}` })
      expect(out).not.toMatch(/hello world/) // --tail 0: nothing from before the follow began
      const scaled = await forrest(['scale', app, '3'], env)
      expect(scaled.code, scaled.stderr).toBe(0)
      const added = (await names()).filter((n) => !before.includes(n))
      expect(added).toHaveLength(1)
      await pollUntil(() => new RegExp(`^${added[0]} +\\| hello world$`, 'm').test(out), { timeoutMs: 15_000, what: `${added[0]}'s first line in:\n${out}${err}` })
    } finally {
      child.kill('SIGINT')
    }
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))])
    expect(code, err).toBe(0)
  })

  it('an unknown app is exit 8', async () => {
    const res = await forrest(['logs', `${app}-nope`], env)
    expect(res.code).toBe(EXIT.notFound)
    expect(res.stderr).toContain('APP_NOT_FOUND')
  })
})

/**
 * Across hosts: the lab's h1 (mutual TLS) next to the local engine, each line named host/instance.
 * Needs scripts/lab/up.sh (run by .ci/run): fails, never skips, without it.
 */
describe('forrest logs across hosts', () => {
  const hrun = testRun('logs-hosts')
  const happ = `lh${hrun.id.slice(-6)}`
  let lab: Record<string, string>
  let henv: NodeJS.ProcessEnv
  const onH1 = (...args: string[]) =>
    docker('--tlsverify', '--tlscacert', `${lab.FORREST_LAB_CERT_PATH}/ca.pem`, '--tlscert', `${lab.FORREST_LAB_CERT_PATH}/cert.pem`, '--tlskey', `${lab.FORREST_LAB_CERT_PATH}/key.pem`, '-H', lab.FORREST_LAB_H1_TLS!, ...args)

  beforeAll(async () => {
    lab = Object.fromEntries([...readFileSync(LAB_ENV_FILE, 'utf8').matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]))
    henv = { ...hrun.env(etcd.endpoint), DOCKER_HOST: '', DOCKER_CONFIG: lab.FORREST_LAB_DOCKER_CONFIG! }
    const file = specFile(`${happ}-hosts`, {
      name: happ,
      replicas: 2,
      image: `${lab.FORREST_LAB_REGISTRY}/demo/myapp:1`,
      command: ['/bin/sh', '-c', script],
      env: { GREETING: 'world' },
      hosts: [
        { name: 'local', docker: 'unix:///var/run/docker.sock', address: '127.0.0.1' },
        { name: 'h1', docker: lab.FORREST_LAB_H1_TLS, address: '10.213.0.11', tls: { certPath: lab.FORREST_LAB_CERT_PATH } },
      ],
      'health.interval': '100ms',
      'health.deadline': '10s',
      'update.drain': '100ms',
      'update.stopGracePeriod': '1s',
    })
    const res = await forrest(['deploy', file], henv, 120_000)
    expect(res.code, res.stderr).toBe(0)
  }, 180_000)

  afterAll(async () => {
    const ids = await onH1('ps', '-aq', '--filter', `label=${hrun.label}`).catch(() => '')
    if (ids) await onH1('rm', '-f', ...ids.split('\n'))
    await removeByLabel(hrun.label)
  }, 60_000)

  it('names each line host/instance once the app runs on several hosts', async () => {
    const res = await forrest(['logs', happ], henv)
    expect(res.code, res.stderr).toBe(0)
    const hosts = new Set([...res.stdout.matchAll(/^(local|h1)\/\S+ +\| hello world$/gm)].map((m) => m[1]))
    expect(hosts, res.stdout).toEqual(new Set(['local', 'h1']))
  })
})
