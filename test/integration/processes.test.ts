/**
 * Processes (`processes:` in the file): a web process and a worker from one image and revision,
 * through real etcd, HAProxy with `forrest gateway`, and Docker. The worker proves it runs (a
 * heartbeat file the test reads with `docker exec`), is never in etcd or HAProxy, rolls with web
 * under load with zero failed requests, scales on its own, and a failing worker rolls the whole
 * app back.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Etcd3 } from 'etcd3'
import { stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { createEtcdClient } from '../../src/registry/client.js'
import { docker, forrest, testRun } from '../helpers/cli.js'
import type { TestHaproxy } from '../helpers/haproxy.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { startLoad } from '../helpers/load.js'
import { pollUntil } from '../helpers/etcd.js'

const run = testRun('processes')
const app = `processes-${run.id.slice(-6)}`
const dir = mkdtempSync(join(tmpdir(), 'forrest-processes-'))

/** The worker: writes "<tag> <epoch seconds>" to /heartbeat five times a second (epoch seconds: it changes every second). */
const heartbeat = (tag: string) => ['/bin/sh', '-c', `echo "worker ${tag} started"; while true; do echo "${tag} $(date +%s)" > /heartbeat; sleep 0.2; done`]

function spec(name: string, o: { image: string; webReplicas?: number; workerReplicas?: number; worker?: string[]; workerHealth?: Record<string, unknown> }): string {
  const file = join(dir, `${name}.yml`)
  writeFileSync(
    file,
    stringify({
      name: app,
      image: o.image,
      labels: { team: 'processes' },
      update: { drain: '200ms', stopGracePeriod: '1s' },
      processes: {
        web: { port: 8080, replicas: o.webReplicas ?? 2, health: { path: '/', interval: '100ms', deadline: '5s' } },
        worker: {
          command: o.worker ?? heartbeat('v1'),
          replicas: o.workerReplicas ?? 2,
          health: o.workerHealth ?? { running: '1s', interval: '100ms', deadline: '5s' },
          stopGracePeriod: '2s',
          stopSignal: 'SIGQUIT',
          update: { maxSurge: 0, maxUnavailable: 1 },
        },
      },
    }),
  )
  return file
}

/** name process revision state of every container of the app. */
const containers = async () =>
  (await docker('ps', '-a', '--filter', `label=forrest.app=${app}`, '--format', '{{.Names}} {{.Label "forrest.process"}} {{.Label "forrest.revision"}} {{.State}}')).split('\n').filter(Boolean).sort()
const workerNames = async () => (await containers()).filter((c) => c.split(' ')[1] === 'worker').map((c) => c.split(' ')[0]!)
const beat = async (name: string) => (await docker('exec', name, 'cat', '/heartbeat')).split(' ')

describe('web + worker processes (real etcd, HAProxy, Docker)', () => {
  let stack: LbStack
  let haproxy: TestHaproxy
  let client: Etcd3
  let env: NodeJS.ProcessEnv
  const keys = async () => Object.keys(await client.getAll().prefix(`/${run.prefix}/`).strings()).map((k) => k.split('/').at(-1)!).sort()
  const servers = async () => (await haproxy.runtime.servers('app')).map((s) => s.name).sort()

  beforeAll(async () => {
    stack = await startLbStack(run, { serversFile: true })
    ;({ haproxy, env } = stack)
    client = createEtcdClient([stack.etcd.endpoint], { callTimeoutMs: 2000 })
  }, 40_000)

  afterAll(async () => {
    client?.close()
    await stack?.stop()
  }, 40_000)

  it('deploys web and a worker: the worker runs (its heartbeat advances) and is never in etcd or HAProxy', async () => {
    const res = await forrest(['deploy', spec('v1', { image: 'demo/myapp:1' }), '--json'], env)
    expect(res.code, res.stderr).toBe(0)
    const out = JSON.parse(res.stdout)
    expect(out).toMatchObject({ outcome: 'succeeded', revision: 1, replicas: 2, processes: { worker: 2 } })
    expect(await containers()).toEqual([`${app}-r1-1  1 running`, `${app}-r1-2  1 running`, `${app}-worker-r1-1 worker 1 running`, `${app}-worker-r1-2 worker 1 running`])
    // Only web is announced: its keys, its HAProxy servers.
    expect(await keys()).toEqual([`${app}-r1-1`, `${app}-r1-2`])
    await pollUntil(async () => (await servers()).length === 2, { timeoutMs: 10_000, what: 'HAProxy has the web servers' })
    expect(await servers()).toEqual([`${app}-r1-1`, `${app}-r1-2`])
    // Nothing of the worker under the records root's instance records either.
    const all = Object.keys(await client.getAll().strings())
    expect(all.filter((k) => k.includes('-worker-'))).toEqual([])
    // The worker's own stop signal and grace period are on its containers; web keeps the app's.
    const stopOf = async (name: string) => docker('inspect', '--format', '{{.Config.StopSignal}} {{.Config.StopTimeout}}', name)
    for (const name of await workerNames()) expect(await stopOf(name)).toBe('SIGQUIT 2')
    expect(await stopOf(`${app}-r1-1`)).toBe('1') // no stop signal of its own (trimmed), the app's 1s
    // The worker is alive: its heartbeat moves.
    for (const name of await workerNames()) {
      const [tag, first] = await beat(name)
      expect(tag).toBe('v1')
      await pollUntil(async () => (await beat(name))[1] !== first, { timeoutMs: 5000, what: `${name}'s heartbeat advances` })
    }
  }, 60_000)

  it('status, logs and --json say which process each instance belongs to', async () => {
    const status = await forrest(['status', app, '--json'], env)
    expect(status.code, status.stdout + status.stderr).toBe(0)
    const [s] = JSON.parse(status.stdout).apps
    expect(s).toMatchObject({ converged: true, desired: 2, healthy: 2, registered: 2, processes: { worker: { desired: 2, healthy: 2 } } })
    expect(s.instances.filter((i: { process?: string }) => i.process === 'worker').map((i: { registered: boolean; health: string }) => [i.registered, i.health])).toEqual([[false, 'healthy'], [false, 'healthy']])
    const human = await forrest(['status', app], env)
    expect(human.stdout).toContain('processes: web 2/2 healthy (announced), worker 2/2 healthy (worker, not announced)')

    const logs = await forrest(['logs', app, '--process', 'worker', '--json'], env)
    expect(logs.code, logs.stderr).toBe(0)
    const out = JSON.parse(logs.stdout)
    expect(out.instances.map((i: { name: string }) => i.name)).toEqual([`${app}-worker-r1-1`, `${app}-worker-r1-2`])
    expect(out.lines.map((l: { text: string }) => l.text)).toEqual(['worker v1 started', 'worker v1 started'])
    const web = await forrest(['logs', app, '--process', 'web', '--json'], env)
    expect(JSON.parse(web.stdout).instances.map((i: { name: string }) => i.name)).toEqual([`${app}-r1-1`, `${app}-r1-2`])
    const unknown = await forrest(['logs', app, '--process', 'wroker'], env)
    expect(unknown.code).toBe(EXIT.badInput)
    expect(unknown.stderr).toContain(`${app} has no process "wroker"; its processes: web, worker`)
  }, 30_000)

  it('rolls web and worker to a new revision under load through HAProxy with zero failed requests', async () => {
    const load = startLoad({ url: `${haproxy.url}/`, concurrency: 6, pauseMs: 15, maxDurationMs: 60_000 })
    const deployed = (async () => {
      await new Promise((r) => setTimeout(r, 300)) // some v1 traffic before the rollout
      // v2's worker is judged by a health command run inside it (Compose's healthcheck test): its heartbeat file exists.
      const v2 = spec('v2', { image: 'demo/myapp:2', worker: heartbeat('v2'), workerHealth: { command: ['/bin/sh', '-c', 'grep -q v2 /heartbeat'], interval: '100ms', timeout: '2s', deadline: '5s' } })
      const r = await forrest(['deploy', v2], env)
      await new Promise((r) => setTimeout(r, 300)) // and some on the final set
      return r
    })()
    const res = await deployed.finally(() => undefined)
    const report = await load.stop()
    expect(res.code, res.stdout + res.stderr).toBe(0)
    expect(res.stdout).toMatch(/start .*-worker-r2-1 \(revision 2\): health command passed in \d+ms \(worker: not announced\)/)
    const failures = report.samples.filter((s) => s.status !== 200).slice(0, 5)
    expect(failures).toEqual([])
    expect(report.errors).toBe(0)
    expect(report.sent).toBeGreaterThan(100)
    expect(new Set(report.samples.map((s) => s.body))).toEqual(new Set(['v1', 'v2']))
    expect(await containers()).toEqual([`${app}-r2-1  2 running`, `${app}-r2-2  2 running`, `${app}-worker-r2-1 worker 2 running`, `${app}-worker-r2-2 worker 2 running`])
    expect(await keys()).toEqual([`${app}-r2-1`, `${app}-r2-2`])
    for (const name of await workerNames()) expect((await beat(name))[0]).toBe('v2')
  }, 90_000)

  it('a worker that fails its health rolls the whole app back: web and worker on the previous revision', async () => {
    const res = await forrest(['deploy', spec('bad-worker', { image: 'demo/myapp:1', worker: ['/bin/sh', '-c', 'echo cannot reach the queue; exit 3'] })], env)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
    expect(res.stderr).toMatch(/worker-r3-1 exited with code 3/)
    expect(res.stderr).toContain('cannot reach the queue')
    expect(res.stderr).toContain('rolled back to revision 2')
    // Every container is revision 2 again: two web (announced), two workers (not), nothing of revision 3 left.
    const now = await containers()
    expect(now.map((c) => c.split(' ').slice(1).join(' '))).toEqual([' 2 running', ' 2 running', 'worker 2 running', 'worker 2 running'])
    expect(await keys()).toEqual(now.filter((c) => c.includes('  2 ')).map((c) => c.split(' ')[0]))
    for (const name of await workerNames()) expect((await beat(name))[0]).toBe('v2')
  }, 90_000)

  it('scales one process on its own; an unknown process or a bare count is exit 2 with nothing changed', async () => {
    const before = await containers()
    const unknown = await forrest(['scale', app, 'wroker=5'], env)
    expect(unknown.code, unknown.stderr).toBe(EXIT.badInput)
    expect(unknown.stderr).toContain(`${app} has no process "wroker"; its processes: web, worker; nothing was changed`)
    const bare = await forrest(['scale', app, '3'], env)
    expect(bare.code, bare.stderr).toBe(EXIT.badInput)
    expect(bare.stderr).toContain('has several processes (web, worker): say which to scale')
    // Bad files: refused before anything is asked or touched.
    const badFiles: Array<[string, string, RegExp]> = [
      ['worker health path', readFileSync(spec('ok', { image: 'demo/myapp:2' }), 'utf8').replace('running: 1s', 'path: /healthz'), /processes\.worker\.health\.path: .*never probed over HTTP/],
      ['top-level replicas', `replicas: 3\n${readFileSync(spec('ok', { image: 'demo/myapp:2' }), 'utf8')}`, /replicas: with processes, replicas is set per process: move it under processes\.web/],
      ['revision-like name', readFileSync(spec('ok', { image: 'demo/myapp:2' }), 'utf8').replace('  worker:', '  r2:'), /processes\.r2: process name "r2" collides with forrest's instance names/],
    ]
    for (const [what, text, message] of badFiles) {
      const file = join(dir, `bad-${what.replace(/ /g, '-')}.yml`)
      writeFileSync(file, text)
      const res = await forrest(['deploy', file], env)
      expect(res.code, `${what}: ${res.stderr}`).toBe(EXIT.badInput)
      expect(res.stderr, what).toMatch(message)
    }
    expect(await containers()).toEqual(before)

    const res = await forrest(['scale', app, 'worker=3', '--json'], env)
    expect(res.code, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({ outcome: 'succeeded', replicas: 2, processes: { worker: 3 } })
    const after = await containers()
    // Web untouched (same containers), one more worker of the same revision, still not announced.
    expect(after.filter((c) => !c.includes(' worker '))).toEqual(before.filter((c) => !c.includes(' worker ')))
    expect(after.filter((c) => c.includes(' worker ')).map((c) => c.split(' ').slice(1).join(' '))).toEqual(['worker 2 running', 'worker 2 running', 'worker 2 running'])
    expect(await keys()).toEqual(before.filter((c) => !c.includes(' worker ')).map((c) => c.split(' ')[0]))
  }, 60_000)

  it('rollback rolls every process back, keeping the scaled counts; history names the process changes', async () => {
    const res = await forrest(['rollback', app, '--json'], env)
    expect(res.code, res.stdout + res.stderr).toBe(0)
    const out = JSON.parse(res.stdout)
    expect(out).toMatchObject({ outcome: 'succeeded', replicas: 2, processes: { worker: 3 } })
    const now = await containers()
    expect(now.map((c) => c.split(' ').slice(1).join(' '))).toEqual([` ${out.revision} running`, ` ${out.revision} running`, ...Array(3).fill(`worker ${out.revision} running`)])
    for (const name of await workerNames()) expect((await beat(name))[0]).toBe('v1')
    const history = await forrest(['history', app, '--json'], env)
    const changes = JSON.parse(history.stdout).revisions.find((r: { revision: number }) => r.revision === 2).changes
    expect(changes).toContain('worker: command ' + JSON.stringify(heartbeat('v1')) + ' → ' + JSON.stringify(heartbeat('v2')))
  }, 90_000)
})

