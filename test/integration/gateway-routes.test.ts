/**
 * #27 one HAProxy, many apps: one `forrest gateway` process with `--route PREFIX=BACKEND` per app,
 * and the config `gateway --init-config --route ...` writes (routing by Host header, both backends'
 * servers in one servers file). Real HAProxy, etcd and Docker: each Host reaches its own app, each
 * app's deploy counts the one gateway for its prefix (gateways.required: 1), and a rolling deploy
 * of one app under load has zero failed requests while the other app's containers are untouched.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { HaproxyRuntime } from '../../src/gateway/haproxy-runtime.js'
import { docker, forrest, removeByLabel, testRun } from '../helpers/cli.js'
import { freePort, pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { startGatewayCli, type GatewayCli } from '../helpers/gateway-cli.js'
import { startLoad } from '../helpers/load.js'

const run = testRun('fleet-gw')
const short = run.id.slice(-6)
const apps = { a: `fleet-gwa-${short}`, b: `fleet-gwb-${short}` }
const prefixes = { a: `${run.prefix}/a/servers`, b: `${run.prefix}/b/servers` }
const dir = mkdtempSync(join(tmpdir(), 'forrest-gateway-routes-'))
const cfg = join(dir, 'haproxy.cfg')
const socket = join(dir, 'admin.sock')

/** GET / through HAProxy with a Host header (fetch will not set one). */
function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, timeout: 2000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }))
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.end()
  })
}

const specFile = (key: 'a' | 'b', image: string, env: Record<string, string> = {}) => {
  const file = join(dir, `${key}-${Date.now()}.yml`)
  writeFileSync(
    file,
    stringify({
      name: apps[key],
      image,
      replicas: 2,
      port: 8080,
      env,
      announce: { prefix: prefixes[key] },
      gateways: { required: 1 },
      health: { type: 'http', path: '/', interval: '100ms', deadline: '10s' },
      update: { drain: '200ms', stopGracePeriod: '5s' },
    }),
  )
  return file
}

describe('one gateway, several routes, one HAProxy (real HAProxy, etcd, Docker)', () => {
  let etcd: TestEtcd
  let env: NodeJS.ProcessEnv
  let haproxy: ChildProcess
  let gateway: GatewayCli
  let port: number
  let stderr = ''

  beforeAll(async () => {
    etcd = await startEtcd()
    env = run.env(etcd.endpoint)
    port = await freePort()
    const routeArgs = ['--route', `${prefixes.a}=${apps.a}`, '--route', `${prefixes.b}=${apps.b}`]
    const init = await forrest(['gateway', '--init-config', cfg, '--socket', socket, '--listen', `127.0.0.1:${port}`, ...routeArgs], env)
    expect(init.code, init.stderr).toBe(0)
    haproxy = spawn('haproxy', ['-W', '-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] })
    haproxy.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-2000)))
    const runtime = new HaproxyRuntime(socket, 1000)
    await pollUntil(async () => (await runtime.info()).pid > 0, { timeoutMs: 10_000, what: `haproxy on ${socket} (${stderr})` })
    gateway = await startGatewayCli({ socket, backend: null, env, id: `gw-${run.id}`, serversFile: cfg, args: routeArgs })
  }, 60_000)

  afterAll(async () => {
    await gateway?.stop()
    await removeByLabel(run.label)
    if (haproxy && haproxy.exitCode === null) {
      const exited = new Promise((r) => haproxy.once('exit', r))
      haproxy.kill('SIGTERM')
      await exited
    }
    await etcd?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('--init-config with routes: one backend per app, chosen by Host header', () => {
    const text = readFileSync(cfg, 'utf8')
    for (const app of Object.values(apps)) {
      expect(text).toContain(`\nbackend ${app}\n`)
      expect(text).toContain(`  use_backend ${app} if { var(txn.host) -m beg ${app}. }`)
    }
    expect(text).toContain(`--route ${prefixes.a}=${apps.a} --route ${prefixes.b}=${apps.b}`)
  })

  it('the one gateway counts for each prefix: both apps deploy with gateways.required: 1, and each Host reaches its own app', async () => {
    for (const [key, image] of [['a', 'demo/myapp:1'], ['b', 'demo/myapp:2']] as const) {
      const res = await forrest(['deploy', specFile(key, image)], env)
      expect(res.code, res.stdout + res.stderr).toBe(0)
    }
    await pollUntil(async () => (await get(port, `${apps.a}.localhost`)).status === 200 && (await get(port, `${apps.b}.localhost`)).status === 200, { timeoutMs: 10_000, what: 'both apps served' })
    for (let i = 0; i < 6; i++) {
      expect(await get(port, `${apps.a}.localhost`)).toEqual({ status: 200, body: 'v1' })
      expect(await get(port, `${apps.b}.localhost:${port}`)).toEqual({ status: 200, body: 'v2' })
    }
    expect((await get(port, 'nobody.localhost')).status).toBe(404)
    // Each prefix has this gateway's ack, under the same id.
    const status = JSON.parse((await forrest(['status', apps.a, '--json'], env)).stdout)
    expect(status.apps[0].gateways.map((g: { id: string }) => g.id)).toEqual([`gw-${run.id}`])
    const statusB = JSON.parse((await forrest(['status', apps.b, '--json'], env)).stdout)
    expect(statusB.apps[0].gateways.map((g: { id: string }) => g.id)).toEqual([`gw-${run.id}`])
    // Both backends' live servers are in the one servers file.
    const text = readFileSync(cfg, 'utf8')
    expect(text.match(new RegExp(`server ${apps.a}-r1-\\d`, 'g'))).toHaveLength(2)
    expect(text.match(new RegExp(`server ${apps.b}-r1-\\d`, 'g'))).toHaveLength(2)
  }, 120_000)

  it('a rolling deploy of one app under load: zero failed requests for either, the other app untouched', async () => {
    const containersOf = async (app: string) => (await docker('ps', '-q', '--no-trunc', '--filter', `label=forrest.app=${app}`)).split('\n').filter(Boolean).sort()
    const bBefore = await containersOf(apps.b)
    const aBefore = await containersOf(apps.a)
    expect(bBefore).toHaveLength(2)
    const loads = {
      a: startLoad({ url: `http://127.0.0.1:${port}/`, headers: { host: `${apps.a}.localhost` }, concurrency: 4, pauseMs: 15, maxDurationMs: 90_000 }),
      b: startLoad({ url: `http://127.0.0.1:${port}/`, headers: { host: `${apps.b}.localhost` }, concurrency: 4, pauseMs: 15, maxDurationMs: 90_000 }),
    }
    const res = await forrest(['deploy', specFile('a', 'demo/myapp:1', { RELEASE: 'two' })], env)
    const [a, b] = [await loads.a.stop(), await loads.b.stop()]
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.ok)
    expect(res.stdout).toContain(`${apps.a}: revision 2, 2/2 serving`)
    for (const [name, r, body] of [['a', a, 'v1'], ['b', b, 'v2']] as const) {
      expect(r.sent, name).toBeGreaterThan(50)
      expect(r.samples.filter((s) => s.status !== 200).map((s) => `${s.status} ${s.error ?? s.body}`), name).toEqual([])
      expect(new Set(r.samples.map((s) => s.body)), name).toEqual(new Set([body]))
    }
    expect(await containersOf(apps.b)).toEqual(bBefore)
    const aAfter = await containersOf(apps.a)
    expect(aAfter).toHaveLength(2)
    expect(aAfter.filter((id) => aBefore.includes(id))).toEqual([])
  }, 180_000)

  it('bad --route: exit 2, nothing started', async () => {
    for (const [args, expected] of [
      [['--route', 'no-equals-sign'], /expected PREFIX=BACKEND/],
      [['--route', `${prefixes.a}=x`, '--route', `${prefixes.a}=y`], /prefix .* is already routed to backend x/],
      [['--route', `${prefixes.a}=x`, '--backend', 'app'], /--prefix and --backend go with the single form/],
      [['--route', `${prefixes.a}=x`, '--route', `${prefixes.b}=y`, '--metrics', '127.0.0.1:9999'], /--metrics describes one route/],
    ] as const) {
      const res = await forrest(['gateway', '--socket', socket, ...args], env)
      expect(res.code, res.stderr).toBe(EXIT.badInput)
      expect(res.stderr).toMatch(expected)
    }
  })
})
