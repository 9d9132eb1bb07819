/**
 * Instances survive crashes, engine restarts and reboots with no control plane (issue #15):
 * restart policy + fixed host ports, so a restarted container is back at its registered address;
 * crash loops shown by status; an engine restart during a rollout never ends in a false exit 0;
 * and chaos: forrest SIGKILLed at many points of rollouts under load through HAProxy, re-run each
 * time, converges with no orphan, no stale key and no failed request.
 * The engine restarts use the lab's h1 (scripts/lab/up.sh), never the machine's own dockerd.
 */
import { execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, httpGet, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { startGatewayCli, type GatewayCli } from '../helpers/gateway-cli.js'
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js'
import { startLoad } from '../helpers/load.js'
import { labEnvVars } from '../helpers/lab.js'
import { specFile } from '../helpers/spec-file.js'

const run = promisify(execFile)
const t = testRun('heal')
const fast = { replicas: 2, 'health.interval': '100ms', 'health.deadline': '8s', 'update.drain': '100ms', 'update.stopGracePeriod': '1s' }


let etcd: TestEtcd
let client: Etcd3
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  etcd = await startEtcd()
  client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
  env = t.env(etcd.endpoint)
})

afterAll(async () => {
  await removeByLabel(t.label)
  client?.close()
  await etcd?.stop()
})

const uniq = (tag: string) => `${tag}${t.id.slice(-4)}`
const keysOf = async (app: string) => Object.fromEntries(Object.entries(await client.getAll().prefix(`/${t.prefix}/`).strings()).filter(([k]) => k.includes(`/${app}-`)).map(([k, v]) => [k.split('/').at(-1)!, v]))
const names = async (app: string) => (await docker('ps', '-a', '--filter', `label=forrest.app=${app}`, '--filter', `label=${t.label}`, '--format', '{{.Names}}')).split('\n').filter(Boolean).sort()
/** How many of the app's registered instances answer `body` at their registered address. */
const healthy = async (app: string, body: string) => {
  const answers = await Promise.all(Object.values(await keysOf(app)).map((a) => httpGet(a, 1000).then((r) => r.body, () => 'down')))
  return answers.filter((b) => b === body).length
}
const allServe = async (app: string, body: string) => {
  const k = await keysOf(app)
  const answers = await Promise.all(Object.values(k).map((a) => httpGet(a, 1000).then((r) => r.body, () => 'down')))
  return answers.length > 0 && answers.every((b) => b === body)
}

describe('self-healing on the local engine', () => {
  it('a crashed instance is restarted by Docker at its registered address, with no forrest command', async () => {
    const app = uniq('crash')
    const res = await forrest(['deploy', specFile(app, { ...fast, name: app, image: 'demo/myapp:1' })], env)
    expect(res.code, res.stderr).toBe(0)
    const [victim] = await names(app)
    const before = (await keysOf(app))[victim!]!
    expect(await docker('port', victim!, '8080/tcp')).toBe(before)
    const pid = await docker('inspect', '-f', '{{.State.Pid}}', victim!)
    process.kill(Number(pid), 'SIGKILL') // the container's init dies: a crash, not a `docker stop`
    await pollUntil(async () => (await docker('inspect', '-f', '{{.RestartCount}} {{.State.Running}}', victim!)) === '1 true', { timeoutMs: 15_000, what: 'Docker to restart the crashed container' })
    await pollUntil(() => allServe(app, 'v1'), { timeoutMs: 10_000, what: 'the restarted instance to answer at its registered address' })
    expect((await keysOf(app))[victim!]).toBe(before)
    const status = JSON.parse((await forrest(['status', app, '--json'], env)).stdout)
    expect(status.apps[0].instances.find((i: { name: string }) => i.name === victim)).toMatchObject({ restarts: 1, health: 'healthy' })
  })

  it('a crash-looping instance is flagged by status with its restart count', async () => {
    const app = uniq('loop')
    // Serves for a moment, then exits: healthy at the deploy, then restarted again and again.
    const cmd = ['/bin/sh', '-c', '/bin/httpd -p 8080 -h /www; sleep 1; exit 1']
    const res = await forrest(['deploy', specFile(app, { ...fast, name: app, image: 'demo/myapp:1', replicas: 1, command: cmd })], env)
    expect(res.code, res.stdout + res.stderr).toBe(0)
    let last: { code: number; stdout: string } = { code: 0, stdout: '' }
    await pollUntil(async () => {
      last = await forrest(['status', app, '--json'], env)
      return last.stdout.includes('crash-loop')
    }, { timeoutMs: 30_000, intervalMs: 500, what: 'status to flag the crash loop' })
    expect(last.code).toBe(EXIT.notConverged)
    const detail = JSON.parse(last.stdout).error.detail.apps[0]
    expect(detail.instances[0].restarts).toBeGreaterThanOrEqual(1)
    expect(detail.drift.map((d: { kind: string }) => d.kind)).toContain('crash-loop')
  }, 60_000)
})

describe('engine restarts (lab host h1)', () => {
  let lab: Record<string, string>
  const h1 = () => [{ name: 'h1', docker: lab.FORREST_LAB_H1_TLS, address: '10.213.0.11', tls: { certPath: lab.FORREST_LAB_CERT_PATH } }]
  const image = (tag: string) => `${lab.FORREST_LAB_REGISTRY}/demo/myapp:${tag}`
  const dockerH1 = async (...args: string[]) =>
    (await run('docker', ['--tlsverify', '--tlscacert', `${lab.FORREST_LAB_CERT_PATH}/ca.pem`, '--tlscert', `${lab.FORREST_LAB_CERT_PATH}/cert.pem`, '--tlskey', `${lab.FORREST_LAB_CERT_PATH}/key.pem`, '-H', lab.FORREST_LAB_H1_TLS!, ...args], { env: { ...process.env, DOCKER_CONFIG: lab.FORREST_LAB_DOCKER_CONFIG } })).stdout.trim()
  /** A reboot, as far as Docker can tell: dockerd stops (every container with it), then starts again. */
  const stopEngine = async () => {
    const pid = Number(readFileSync(`${lab.FORREST_LAB_DIR}/h1/run/docker.pid`, 'utf8'))
    process.kill(pid, 'SIGTERM')
    await pollUntil(() => { try { process.kill(pid, 0); return false } catch { return true } }, { timeoutMs: 30_000, what: 'h1 dockerd to stop' })
  }
  const startEngine = () => run('bash', ['scripts/lab/up.sh'], { timeout: 120_000 })

  let labCli: NodeJS.ProcessEnv
  beforeAll(async () => {
    lab = labEnvVars()
    // forrest resolves the registry image to a digest with the lab's registry credentials.
    labCli = { ...env, DOCKER_CONFIG: lab.FORREST_LAB_DOCKER_CONFIG! }
    await Promise.all(['1', '2'].map((tag) => dockerH1('pull', '-q', image(tag))))
  }, 120_000)

  afterAll(async () => {
    const ids = await dockerH1('ps', '-aq', '--filter', `label=${t.label}`).catch(() => '')
    if (ids) await dockerH1('rm', '-f', ...ids.split('\n'))
  }, 60_000)

  it('after the engine stops and starts again, every instance serves at its registered address and status exits 0', async () => {
    const app = uniq('boot')
    const res = await forrest(['deploy', specFile(app, { ...fast, name: app, image: image('1'), hosts: h1() })], labCli, 120_000)
    expect(res.code, res.stdout + res.stderr).toBe(0)
    const before = await keysOf(app)
    await stopEngine()
    expect(await allServe(app, 'v1')).toBe(false)
    await startEngine()
    await pollUntil(() => allServe(app, 'v1'), { timeoutMs: 30_000, what: 'instances back after the engine restart' })
    expect(await keysOf(app)).toEqual(before)
    const status = await forrest(['status', app], labCli)
    expect(status.code, status.stdout + status.stderr).toBe(0)
  }, 180_000)

  it('an engine restart during a rollout never ends in exit 0 with fewer healthy instances; the next run converges', async () => {
    const app = uniq('mid')
    const v1 = await forrest(['deploy', specFile(`${app}-1`, { ...fast, name: app, image: image('1'), hosts: h1() })], labCli, 120_000)
    expect(v1.code, v1.stderr).toBe(0)
    const file = specFile(`${app}-2`, { ...fast, name: app, image: image('2'), hosts: h1(), 'update.soak': '1500ms' })
    const rolling = forrest(['deploy', file], labCli, 120_000)
    await pollUntil(async () => (await dockerH1('ps', '-q', '--filter', `label=forrest.app=${app}`)).split('\n').length > 2, { what: 'a v2 container on h1' })
    await stopEngine()
    await startEngine()
    const res = await rolling
    // Exit 0 is a promise: as many healthy v2 instances as replicas, every key one of them.
    if (res.code === 0) {
      expect(await healthy(app, 'v2')).toBe(fast.replicas)
      expect(Object.keys(await keysOf(app))).toHaveLength(fast.replicas)
    } else expect([EXIT.rolledBack, EXIT.failed, EXIT.dockerUnreachable]).toContain(res.code)
    const again = await forrest(['deploy', file], labCli, 120_000)
    expect(again.code, again.stdout + again.stderr).toBe(0)
    await pollUntil(() => allServe(app, 'v2'), { timeoutMs: 20_000, what: 'v2 serving after the re-run' })
    expect(await healthy(app, 'v2')).toBe(fast.replicas)
    const running = (await dockerH1('ps', '-a', '--filter', `label=forrest.app=${app}`, '--format', '{{.Names}}')).split('\n').filter(Boolean).sort()
    expect(running).toEqual(Object.keys(await keysOf(app)).sort())
  }, 240_000)
})

describe('chaos: forrest SIGKILLed at many points of rollouts', () => {
  let haproxy: TestHaproxy
  let gateway: GatewayCli

  beforeAll(async () => {
    haproxy = await startHaproxy()
    gateway = await startGatewayCli({ socket: haproxy.socket, env, id: `gw-${t.id}`, serversFile: haproxy.configPath })
  }, 60_000)

  afterAll(async () => {
    await gateway?.stop()
    await haproxy?.stop()
  })

  it('re-run after each kill: converges, no orphan container, no stale key, not one failed request', async () => {
    const app = uniq('chaos')
    const points = Number(process.env.FORREST_CHAOS_POINTS ?? 10)
    const lockEnv = { ...env, FORREST_LOCK_TTL: '2' }
    const spec = (i: number) => specFile(`${app}-${i}`, { ...fast, name: app, replicas: 3, image: i % 2 ? 'demo/myapp:2' : 'demo/myapp:1', env: { ROUND: String(i) } })
    expect((await forrest(['deploy', spec(0)], lockEnv)).code).toBe(0)
    // Kill points spread over a rollout's life (start, health, announce, ack, withdraw, drain, stop).
    let seed = Number(process.env.FORREST_CHAOS_SEED ?? 20261125)
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const delays = Array.from({ length: points }, () => Math.round(100 + rand() * 2400))
    console.info(`[chaos] seed ${process.env.FORREST_CHAOS_SEED ?? 20261125}, kill after ms: ${delays.join(', ')}`)
    const load = startLoad({ url: `${haproxy.url}/`, concurrency: 4, pauseMs: 10, maxDurationMs: 300_000 })
    const exits: number[] = []
    try {
      for (const [i, delay] of delays.entries()) {
        const child = spawn(process.execPath, ['bin/run.js', 'deploy', spec(i + 1), '--wait-lock=20s'], { env: lockEnv, stdio: 'ignore' })
        const exited = new Promise<number>((r) => child.on('close', (code, sig) => r(code ?? (sig ? 137 : -1))))
        const timer = setTimeout(() => child.kill('SIGKILL'), delay)
        exits.push(await exited)
        clearTimeout(timer)
      }
      const final = await forrest(['deploy', spec(points + 1), '--wait-lock=30s'], lockEnv, 120_000)
      expect(final.code, final.stdout + final.stderr).toBe(0)
      await pollUntil(async () => (await forrest(['status', app], lockEnv)).code === 0, { timeoutMs: 20_000, what: 'status to converge' })
    } finally {
      const report = await load.stop()
      console.info(`[chaos] ${points} kills (exits ${exits.join(',')}); requests through HAProxy: ${report.sent} sent, ${report.ok} ok, ${report.non2xx} non-2xx, ${report.errors} errors`)
      expect(report.sent).toBeGreaterThan(200)
      expect(report.samples.filter((s) => s.status !== 200).slice(0, 5)).toEqual([])
    }
    expect(exits.filter((c) => c === 137).length).toBeGreaterThanOrEqual(Math.ceil(points / 2)) // most runs were really killed mid-way
    const keys = await keysOf(app)
    expect(await names(app)).toEqual(Object.keys(keys).sort()) // no orphan container, no stale key
    expect(Object.keys(keys)).toHaveLength(3)
    expect(await allServe(app, points % 2 ? 'v1' : 'v2')).toBe(true)
  }, 300_000)
})
