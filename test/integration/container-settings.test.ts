import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, httpGet, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('settings')
const tag = run.id.slice(-6)
const network = `fs-net-${tag}`
const volume = `fs-vol-${tag}`
let etcd: TestEtcd
let env: NodeJS.ProcessEnv

const fast = { replicas: 1, 'health.interval': '100ms', 'health.deadline': '10s', 'update.drain': '200ms', 'update.stopGracePeriod': '5s', env: {}, labels: {} }
const spec = (app: string, extra: Record<string, unknown>) => specFile(`${app}-${Math.random().toString(36).slice(2, 8)}`, { ...fast, name: app, image: 'demo/myapp:1', ...extra })
const containersOf = async (app: string) => (await docker('ps', '-a', '--filter', `label=forrest.app=${app}`, '--filter', `label=${run.label}`, '--format', '{{.Names}}')).split('\n').filter(Boolean)
const running = async (app: string) => (await docker('ps', '--filter', `label=forrest.app=${app}`, '--filter', `label=${run.label}`, '--format', '{{.Names}}')).split('\n').filter(Boolean)
const inspect = async (name: string, format: string) => docker('inspect', name, '--format', format)
const exec = (name: string, ...cmd: string[]) => docker('exec', name, ...cmd)

beforeAll(async () => {
  etcd = await startEtcd()
  env = run.env(etcd.endpoint)
  await docker('network', 'create', '--label', run.label, network)
})

afterAll(async () => {
  await removeByLabel(run.label)
  await docker('network', 'rm', network).catch(() => undefined)
  await docker('volume', 'rm', volume).catch(() => undefined)
  await etcd?.stop()
})

describe('container settings against real dockerd', () => {
  it('refuses a missing network or bind path before anything changes, naming host and what is missing (exit 2)', async () => {
    const app = `pre${tag}`
    const res = await forrest(['deploy', spec(app, { container: { networks: [`fs-missing-${tag}`], volumes: [`/nonexistent-${tag}/data:/data`] } })], env)
    expect(res.code, res.stderr).toBe(EXIT.badInput)
    expect(res.stderr).toContain(`host local: network fs-missing-${tag} does not exist`)
    expect(res.stderr).toContain(`host local: bind mount source /nonexistent-${tag}/data does not exist`)
    expect(res.stderr).toContain('nothing was changed')
    expect(await containersOf(app)).toEqual([])
    expect(await docker('ps', '-aq', '--filter', 'label=forrest.check')).toBe('')
  })

  it('an app reaches a database-like container by name on a user network, is reached by its alias, and its published port keeps serving', async () => {
    await docker('run', '-d', '--name', `fs-db-${tag}`, '--label', run.label, '--network', network, '--network-alias', 'db', 'demo/myapp:2')
    const app = `net${tag}`
    const res = await forrest(['deploy', spec(app, { container: { networks: [{ name: network, aliases: ['web'] }] } })], env)
    expect(res.code, res.stderr).toBe(0)
    const [name] = await running(app)
    expect(await exec(name!, 'wget', '-qO-', 'http://db:8080/')).toBe('v2')
    expect(await exec(`fs-db-${tag}`, 'wget', '-qO-', 'http://web:8080/')).toBe('v1')
    const port = await inspect(name!, '{{(index (index .NetworkSettings.Ports "8080/tcp") 0).HostPort}}')
    expect((await httpGet(`127.0.0.1:${port}`)).body).toBe('v1')
  })

  it('a scale-up whose network has gone from the host is refused before anything changes (exit 2)', async () => {
    const gone = `fs-gone-${tag}`
    await docker('network', 'create', '--label', run.label, gone)
    const app = `gone${tag}`
    expect((await forrest(['deploy', spec(app, { container: { networks: [gone] } })], env)).code).toBe(0)
    const before = await containersOf(app)
    for (const name of before) await docker('network', 'disconnect', '-f', gone, name)
    await docker('network', 'rm', gone)
    const res = await forrest(['scale', app, '2'], env)
    expect(res.code, res.stderr).toBe(EXIT.badInput)
    expect(res.stderr).toContain(`host local: network ${gone} does not exist`)
    expect(await containersOf(app)).toEqual(before)
  })

  it('a bind mount and a named volume keep their data across a rolling update', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forrest-bind-'))
    writeFileSync(join(dir, 'seed'), 'from-host\n')
    const app = `vol${tag}`
    const container = { volumes: [`${dir}:/bind:ro`, `${volume}:/vol`] }
    const command = ['sh', '-c', 'echo start >> /vol/starts; exec httpd -f -p 8080 -h /www']
    expect((await forrest(['deploy', spec(app, { container, command })], env)).code).toBe(0)
    const [first] = await running(app)
    await exec(first!, 'sh', '-c', 'echo kept > /vol/data')
    expect(await exec(first!, 'sh', '-c', 'echo x > /bind/nope 2>&1 || echo refused')).toContain('refused')

    const res = await forrest(['deploy', spec(app, { container, command, image: 'demo/myapp:2' })], env)
    expect(res.code, res.stderr).toBe(0)
    const [second] = await running(app)
    expect(second).not.toBe(first)
    expect(await exec(second!, 'cat', '/vol/data')).toBe('kept')
    expect(await exec(second!, 'cat', '/vol/starts')).toBe('start\nstart')
    expect(await exec(second!, 'cat', '/bind/seed')).toBe('from-host')
  })

  it('the engine enforces a memory limit: a process allocating past it is OOM-killed and status says so', async () => {
    const app = `oom${tag}`
    // httpd forks into the background and serves the health check; then the shell allocates ~64 MB.
    const command = ['sh', '-c', 'httpd -p 8080 -h /www; sleep 2; x=$(busybox head -c 64000000 /dev/zero | busybox tr "\\0" a); sleep 3600']
    const res = await forrest(['deploy', spec(app, { command, container: { resources: { memory: '16m' } } })], env)
    expect(res.code, res.stderr).toBe(0)
    const [name] = await containersOf(app)
    expect(await inspect(name!, '{{.HostConfig.Memory}}')).toBe(String(16 * 1024 * 1024))
    let status: { code: number; stdout: string } = { code: -1, stdout: '' }
    await pollUntil(
      async () => {
        status = await forrest(['status', app, '--json'], env)
        return status.stdout.includes('oom-killed')
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'status to report the OOM kill' },
    )
    expect(status.code).toBe(EXIT.notConverged)
    const json = JSON.parse(status.stdout)
    expect(json.error.code).toBe('NOT_CONVERGED')
    const appStatus = json.error.detail.apps[0]
    expect(appStatus.instances[0].oomKilled).toBe(true)
    expect(appStatus.drift.map((d: { kind: string }) => d.kind)).toContain('oom-killed')
    const text = await forrest(['status', app], env)
    expect(text.stdout).toContain('OOM-killed')
  })

  it('a read-only root filesystem with a tmpfs: writes fail on / and work in the tmpfs', async () => {
    const app = `ro${tag}`
    const res = await forrest(['deploy', spec(app, { container: { readOnly: true, volumes: [{ type: 'tmpfs', target: '/scratch', size: '1m' }] } })], env)
    expect(res.code, res.stderr).toBe(0)
    const [name] = await running(app)
    expect(await inspect(name!, '{{.HostConfig.ReadonlyRootfs}}')).toBe('true')
    expect(await exec(name!, 'sh', '-c', 'echo x > /www/new 2>/dev/null && echo wrote || echo refused')).toBe('refused')
    expect(await exec(name!, 'sh', '-c', 'echo x > /scratch/new && cat /scratch/new')).toBe('x')
    // A settings change is a new revision: diff shows it before, history after.
    const diff = await forrest(['diff', spec(app, { container: { readOnly: false, volumes: [{ type: 'tmpfs', target: '/scratch', size: '1m' }] } })], env)
    expect(diff.code, diff.stderr).toBe(0)
    expect(diff.stdout).toContain('container.readOnly true → false')
  })

  it('a worker handles its stop signal and finishes within its grace period during a rollout and a scale-down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forrest-stop-'))
    const app = `sig${tag}`
    // Only SIGQUIT is trapped: Docker's default SIGTERM would kill the shell without the file.
    const command = ['sh', '-c', 'trap "sleep 1; echo finished > /out/$HOSTNAME; exit 0" QUIT; httpd -f -p 8080 -h /www & wait']
    const settings = { command, 'update.stopGracePeriod': '8s', container: { stopSignal: 'SIGQUIT', volumes: [`${dir}:/out`] } }
    expect((await forrest(['deploy', spec(app, settings)], env)).code).toBe(0)
    const [first] = await running(app)
    const hostname = await inspect(first!, '{{.Config.Hostname}}')
    expect(await inspect(first!, '{{.Config.StopSignal}} {{.Config.StopTimeout}}')).toBe('SIGQUIT 8')
    const t0 = Date.now()
    const res = await forrest(['deploy', spec(app, { ...settings, image: 'demo/myapp:2' })], env)
    expect(res.code, res.stderr).toBe(0)
    expect(readdirSync(dir)).toContain(hostname)
    expect(readFileSync(join(dir, hostname), 'utf8')).toBe('finished\n')
    expect(Date.now() - t0).toBeLessThan(30_000)
    // A scale-down stops with the same signal.
    const [second] = await running(app)
    const secondHost = await inspect(second!, '{{.Config.Hostname}}')
    const down = await forrest(['scale', app, '0'], env)
    expect(down.code, down.stderr).toBe(0)
    expect(readFileSync(join(dir, secondHost), 'utf8')).toBe('finished\n')
  })

  it('rotating logs by default, visible in the container\'s LogConfig; a driver that cannot be read is said plainly by forrest logs', async () => {
    const app = `log${tag}`
    expect((await forrest(['deploy', spec(app, {})], env)).code).toBe(0)
    const [name] = await running(app)
    expect(JSON.parse(await inspect(name!, '{{json .HostConfig.LogConfig}}'))).toEqual({ Type: 'json-file', Config: { 'max-file': '3', 'max-size': '10m' } })

    const res = await forrest(['deploy', spec(app, { container: { logging: { driver: 'none' } } })], env)
    expect(res.code, res.stderr).toBe(0)
    const [next] = await running(app)
    expect(JSON.parse(await inspect(next!, '{{json .HostConfig.LogConfig}}'))).toEqual({ Type: 'none', Config: {} })
    const logs = await forrest(['logs', app], env)
    expect(logs.code).toBe(EXIT.failed)
    expect(logs.stderr).toContain('cannot be read: its logging driver does not support reading')
    expect(logs.stderr).toContain('container.logging.driver')
    const history = await forrest(['history', app], env)
    expect(history.stdout).toContain('container.logging')
  })
})
