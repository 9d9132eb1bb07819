/**
 * README › Several apps behind one HAProxy, as shipped in examples/haproxy: `haproxy -c` accepts
 * the three files, and with a real HAProxy, etcd and two `forrest gateway`s (one per app: its own
 * backend, prefix and servers file) both apps deployed from their example files serve through
 * their own backends, routed by Host header, before and across a reload. Only the listen address
 * and the admin socket path are changed (to private ones), and the app names (container names are
 * global on the shared dockerd); everything else is the files byte for byte.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HaproxyRuntime } from '../../src/gateway/haproxy-runtime.js'
import { forrest, removeByLabel, testRun } from '../helpers/cli.js'
import { freePort, pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { startGatewayCli, type GatewayCli } from '../helpers/gateway-cli.js'

const run = testRun('twoapps')
const EX = 'examples/haproxy'
const dir = mkdtempSync(join(tmpdir(), 'forrest-two-apps-'))
const files = ['two-apps.cfg', 'backend-web.cfg', 'backend-api.cfg']
const apps = { web: `web-${run.id.slice(-6)}`, api: `api-${run.id.slice(-6)}` }

/** Replaces `from` (which must occur exactly once) with `to`. */
function replaceOnce(text: string, from: string, to: string): string {
  expect(text.split(from).length - 1, `"${from}" once in the example`).toBe(1)
  return text.replace(from, to)
}

/** GET / through HAProxy with a Host header (fetch will not set Host). */
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

describe('examples/haproxy: two apps behind one HAProxy (real HAProxy, etcd, two gateways, Docker)', () => {
  let etcd: TestEtcd
  let haproxy: ChildProcess
  let runtime: HaproxyRuntime
  let port: number
  let env: NodeJS.ProcessEnv
  const gateways: GatewayCli[] = []
  let stderr = ''

  beforeAll(async () => {
    port = await freePort()
    const socket = join(dir, 'admin.sock')
    for (const f of files) writeFileSync(join(dir, f), readFileSync(join(EX, f), 'utf8'))
    let main = readFileSync(join(EX, 'two-apps.cfg'), 'utf8')
    main = replaceOnce(main, '  bind 127.0.0.1:8080\n', `  bind 127.0.0.1:${port}\n`)
    main = replaceOnce(main, 'stats socket /run/haproxy/admin.sock ', `stats socket ${socket} `)
    writeFileSync(join(dir, 'two-apps.cfg'), main)
    etcd = await startEtcd()
    env = run.env(etcd.endpoint)
    haproxy = spawn('haproxy', ['-W', '-db', ...files.flatMap((f) => ['-f', f])], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
    haproxy.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-2000)))
    runtime = new HaproxyRuntime(socket, 1000)
    await pollUntil(async () => (await runtime.info()).pid > 0, { timeoutMs: 10_000, what: `haproxy on ${socket} (${stderr})` })
    // One gateway per app, as the example's header says: its backend, prefix and servers file.
    for (const app of ['web', 'api'] as const) {
      gateways.push(await startGatewayCli({ socket, backend: app, env: { ...env, ETCD_PREFIX: `apps/${app}/servers` }, id: `gw-${app}-${run.id}`, serversFile: join(dir, `backend-${app}.cfg`) }))
    }
  }, 60_000)

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()))
    await removeByLabel(run.label)
    if (haproxy && haproxy.exitCode === null) {
      const exited = new Promise((r) => haproxy.once('exit', r))
      haproxy.kill('SIGTERM')
      await exited
    }
    await etcd?.stop()
    rmSync(dir, { recursive: true, force: true })
  }, 40_000)

  it('haproxy -c accepts the example as shipped', () => {
    const res = spawnSync('haproxy', ['-c', ...files.flatMap((f) => ['-f', f])], { cwd: EX, encoding: 'utf8' })
    expect(res.status, res.stdout + res.stderr).toBe(0)
    expect(res.stdout + res.stderr).toContain('Configuration file is valid')
    expect(res.stdout + res.stderr).not.toContain('WARNING')
  })

  it('each app deploys from its example file and serves through its own backend, routed by Host', async () => {
    for (const app of ['web', 'api'] as const) {
      const file = join(dir, `${app}.yml`)
      writeFileSync(file, replaceOnce(readFileSync(join(EX, `${app}.yml`), 'utf8'), `\nname: ${app}\n`, `\nname: ${apps[app]}\n`))
      const res = await forrest(['deploy', file], env, 90_000)
      expect(res.code, res.stdout + res.stderr).toBe(0)
    }
    // web runs demo/myapp:1 (answers v1), api demo/myapp:2 (v2): the body says which backend answered.
    for (let i = 0; i < 4; i++) {
      expect(await get(port, 'web.localhost')).toEqual({ status: 200, body: 'v1' })
      expect(await get(port, `api.localhost:${port}`)).toEqual({ status: 200, body: 'v2' })
    }
    expect(await get(port, 'other.localhost')).toEqual({ status: 404, body: 'no app for this host' })
    for (const app of ['web', 'api'] as const) {
      const names = (await runtime.servers(app)).map((s) => s.name)
      expect(names.sort(), `backend ${app}`).toEqual([`${apps[app]}-r1-1`, `${apps[app]}-r1-2`])
      // Each gateway keeps only its own backend's servers in its own file.
      const lines = readFileSync(join(dir, `backend-${app}.cfg`), 'utf8').split('\n').filter((l) => /^\s*server /.test(l))
      expect(lines.map((l) => l.trim().split(/\s+/)[1]).sort()).toEqual([`${apps[app]}-r1-1`, `${apps[app]}-r1-2`])
    }
  }, 120_000)

  it('a reload re-reads all three files: both apps keep serving, each backend from its own file', async () => {
    const before = (await runtime.info()).pid
    const failures: string[] = []
    let sent = 0
    let stop = false
    const load = (async () => {
      while (!stop && sent < 2000) {
        for (const [host, body] of [['web.localhost', 'v1'], ['api.localhost', 'v2']] as const) {
          sent++
          const r = await get(port, host).catch((e: Error) => ({ status: 0, body: e.message }))
          if (r.status !== 200 || r.body !== body) failures.push(`${host}: ${r.status} ${r.body}`)
        }
      }
    })()
    haproxy.kill('SIGUSR2')
    await pollUntil(async () => (await runtime.info()).pid !== before, { timeoutMs: 10_000, what: `haproxy reload (${stderr})` })
    await pollUntil(async () => (await runtime.servers('web')).length === 2 && (await runtime.servers('api')).length === 2, { timeoutMs: 10_000, what: 'both backends after the reload' })
    await new Promise((r) => setTimeout(r, 500)) // traffic after the reload too, through the new worker
    stop = true
    await load
    expect(sent).toBeGreaterThan(20)
    expect(failures).toEqual([])
  }, 60_000)
})
