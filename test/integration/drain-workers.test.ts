/**
 * `forrest host drain` and `forrest host ls` see workers (issues #25 × #27) on the lab's h1 and h2.
 * Workers have no instance records (they are never announced): drain and host ls find them by the
 * labels forrest put on their containers. Inventory: h1 {pool: web, work: any}, h2 {pool: jobs, work: any}.
 * dw-a: web on pool web (h1), a worker on work any (h1 and h2): host ls counts its workers, drain h2
 * moves the worker to h1. dw-b: web on h1, a worker pinned to pool jobs (h2 only): drain h2 is
 * refused before touching dw-b (NO_ROOM, exit 22) naming the process. dw-c on h2 and h3 (h1's engine
 * through a proxy the test cuts): drain h3 stops before any app (exit 7), its workers cannot be seen;
 * with --allow-unreachable-hosts the worker is started on h2. Needs scripts/lab/up.sh.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { forrest, testRun } from '../helpers/cli.js'
import { requireLab, type Lab } from '../helpers/lab.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

const t = testRun('dw')
const suffix = t.id.slice(-6)
const A = `dw-a${suffix}`
const B = `dw-b${suffix}`
const C = `dw-c${suffix}`
const dir = mkdtempSync(join(tmpdir(), 'forrest-dw-'))

describe('host drain and host ls see worker containers (h1, h2)', () => {
  let lab: Lab
  let stack: LbStack
  let env: NodeJS.ProcessEnv

  const heartbeat = ['/bin/sh', '-c', 'while true; do date +%s > /heartbeat; sleep 0.2; done']
  const spec = (app: string, workerPlacement: Record<string, string> | undefined, prefix: string, hostList?: unknown[]) => {
    const appDir = mkdtempSync(join(dir, `${app}-`))
    writeFileSync(
      join(appDir, 'forrest.hosts.yml'),
      stringify({
        hosts: [
          { name: 'h1', docker: 'tcp://10.213.0.11:2376', address: '10.213.0.11', tls: { certPath: lab.certPath }, labels: { pool: 'web', work: 'any' } },
          { name: 'h2', docker: 'tcp://10.213.0.12:2376', address: '10.213.0.12', tls: { certPath: lab.certPath }, labels: { pool: 'jobs', work: 'any' } },
        ],
      }),
    )
    const file = join(appDir, `${app}.yml`)
    writeFileSync(
      file,
      stringify({
        name: app,
        image: `${lab.registry}/demo/myapp:1`,
        hosts: hostList ?? 'inventory',
        announce: { prefix },
        update: { drain: '200ms', stopGracePeriod: '1s' },
        processes: {
          web: { port: 8080, replicas: 1, ...(hostList ? {} : { placement: { labels: { pool: 'web' } } }), health: { path: '/', interval: '100ms', deadline: '15s' } },
          worker: { command: heartbeat, replicas: 2, ...(workerPlacement ? { placement: { labels: workerPlacement } } : {}), health: { running: '1s', interval: '100ms', deadline: '15s' }, stopGracePeriod: '1s', update: { maxSurge: 1, maxUnavailable: 0 } },
        },
      }),
    )
    return file
  }
  /** The test's containers of an app on a lab host, by process: "web" (no process label) or the worker's name. */
  const containersOn = async (host: 'h1' | 'h2', app: string) =>
    (await lab.docker(host, 'ps', '--filter', `label=${t.label}`, '--filter', `label=forrest.app=${app}`, '--format', '{{.Names}} {{.Label "forrest.process"}}'))
      .split('\n')
      .filter(Boolean)
      .map((c) => `${c.trim()} `.split(' ').slice(0, 2).join(' '))
      .sort()
  const ok = async (args: string[], timeout = 180_000) => {
    const res = await forrest(args, env, timeout)
    expect(res.code, `forrest ${args.join(' ')}\n${res.stdout}${res.stderr}`).toBe(0)
    return res
  }
  const ls = async () => Object.fromEntries(JSON.parse((await ok(['host', 'ls', '--json'])).stdout).hosts.map((h: { name: string; instances: Record<string, number> }) => [h.name, h.instances]))

  beforeAll(async () => {
    lab = await requireLab()
    stack = await startLbStack(t)
    env = { ...stack.env, DOCKER_HOST: '', DOCKER_CONFIG: lab.dockerConfig }
  }, 300_000)

  afterAll(async () => {
    for (const h of ['h1', 'h2'] as const) {
      const ids = await lab?.docker(h, 'ps', '-aq', '--filter', `label=${t.label}`).catch(() => '')
      if (ids) await lab.docker(h, 'rm', '-f', ...ids.split('\n'))
    }
    await stack?.stop()
  }, 120_000)

  it('host ls counts workers; drain h2 moves the worker to h1 (web was never on h2)', async () => {
    await ok(['deploy', spec(A, { work: 'any' }, `${t.prefix}-a`)])
    expect((await containersOn('h2', A)).map((c) => c.split(' ')[1])).toEqual(['worker'])
    expect(await ls()).toMatchObject({ h1: { [A]: 2 }, h2: { [A]: 1 } })

    try {
      const drain = await ok(['host', 'drain', 'h2', '--json'])
      expect(JSON.parse(drain.stdout)).toMatchObject({ host: 'h2', availability: 'drained', apps: [{ app: A, outcome: 'moved', moved: 1 }] })
      expect(await containersOn('h2', A)).toEqual([])
      expect((await containersOn('h1', A)).map((c) => c.split(' ')[1])).toEqual(['', 'worker', 'worker'])
      const after = await ls()
      expect(after.h1).toEqual({ [A]: 3 })
      expect(after.h2 ?? {}).toEqual({})
    } finally {
      await ok(['host', 'uncordon', 'h2'])
    }
  }, 400_000)

  it('a worker pinned to h2 by placement: drain h2 is refused (exit 22) naming the process, nothing of the app changed', async () => {
    await ok(['deploy', spec(B, { pool: 'jobs' }, `${t.prefix}-b`)])
    const before = { h1: await containersOn('h1', B), h2: await containersOn('h2', B) }
    expect(before.h2.map((c) => c.split(' ')[1])).toEqual(['worker', 'worker'])

    try {
      const res = await forrest(['host', 'drain', 'h2'], env, 180_000)
      expect(res.code, res.stdout + res.stderr).toBe(EXIT.noRoom)
      expect(res.stderr).toContain(`cannot drain h2: ${B}'s process worker has 2 instances there and no other host may take them`)
      expect(res.stderr).toContain(`${B} was not touched`)
      expect(res.stderr).toContain(`widen processes.worker.placement.labels so one of its other hosts h1 matches`)
      expect({ h1: await containersOn('h1', B), h2: await containersOn('h2', B) }).toEqual(before)
    } finally {
      await ok(['host', 'uncordon', 'h2'])
    }
  }, 400_000)

  it('the drained host does not answer: stopped before any app (exit 7) as its workers cannot be seen; --allow-unreachable-hosts moves them', async () => {
    // h3 is h1's engine through a proxy the test cuts; C runs on h2 and h3 only.
    const proxy = await startTcpProxy('10.213.0.11:2376')
    try {
      const hostList = [
        { name: 'h2', docker: 'tcp://10.213.0.12:2376', address: '10.213.0.12', tls: { certPath: lab.certPath } },
        { name: 'h3', docker: `tcp://${proxy.endpoint}`, address: '10.213.0.11', tls: { certPath: lab.certPath } },
      ]
      await ok(['deploy', spec(C, undefined, `${t.prefix}-c`, hostList)])
      expect((await containersOn('h2', C)).filter((c) => c.endsWith(' worker'))).toHaveLength(1)
      proxy.cut()
      const res = await forrest(['host', 'drain', 'h3'], env, 180_000)
      expect(res.code, res.stdout + res.stderr).toBe(EXIT.dockerUnreachable)
      expect(res.stderr).toContain('drain h3 stopped before any app: h3 did not answer, so its workers (never announced, found by their containers) cannot be seen')
      expect(res.stderr).toContain('forrest host drain h3 --allow-unreachable-hosts')
      const forced = await ok(['host', 'drain', 'h3', '--allow-unreachable-hosts', '--json'])
      expect(JSON.parse(forced.stdout)).toMatchObject({ host: 'h3', availability: 'drained' })
      expect((await containersOn('h2', C)).filter((c) => c.endsWith(' worker'))).toHaveLength(2)
    } finally {
      await proxy.close()
    }
  }, 400_000)
})
