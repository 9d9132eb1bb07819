/**
 * The acceptance proof: real etcd, real HAProxy on a loopback port, `forrest gateway` as a child
 * process, requests flowing through HAProxy the whole time while the CLI rolls 5 replicas
 * v1 → v2 (HAProxy is reloaded in the middle of it), tries a bad image and a revision HAProxy
 * cannot reach (both rolled back), and
 * scales down and up. Not one request may fail.
 */
import type { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { createEtcdClient } from '../../src/registry/client.js'
import { forrest, testRun, type CliResult } from '../helpers/cli.js'
import type { TestEtcd } from '../helpers/etcd.js'
import type { GatewayCli } from '../helpers/gateway-cli.js'
import type { TestHaproxy } from '../helpers/haproxy.js'
import { startLoad, type LoadReport } from '../helpers/load.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('zdt')
const app = `z${run.id.slice(-6)}`
const base = { name: app, replicas: 5, 'health.interval': '100ms', 'health.deadline': '5s', 'update.stopGracePeriod': '1s' }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

describe('zero downtime through HAProxy + forrest gateway (real etcd, HAProxy, Docker)', () => {
  let etcd: TestEtcd
  let haproxy: TestHaproxy
  let gateway: GatewayCli
  let stack: LbStack
  let client: Etcd3
  let env: NodeJS.ProcessEnv

  beforeAll(async () => {
    stack = await startLbStack(run, { serversFile: true })
    ;({ etcd, haproxy, gateway, env } = stack)
    client = createEtcdClient([etcd.endpoint], { callTimeoutMs: 2000 })
  }, 40_000)

  afterAll(async () => {
    client?.close()
    await stack?.stop()
  }, 40_000)

  it('rolls v1 → v2, rejects a bad image and an unreachable revision, scales 5 → 2 → 5: zero failed requests', async () => {
    /** Every CLI run under load, with when it ran: the load report is checked stage by stage. */
    const stages: { what: string; startedAt: number; endedAt: number }[] = []
    const stage = async (what: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult & { endedAt: number; ms: number }> => {
      const t0 = Date.now()
      const res = await forrest(args, { ...env, ...extraEnv }, 60_000)
      const endedAt = Date.now()
      console.info(`[zdt] ${what}: exit ${res.code} in ${endedAt - t0} ms`)
      stages.push({ what, startedAt: t0, endedAt })
      return { ...res, endedAt, ms: endedAt - t0 }
    }

    const first = await stage('deploy v1 x5', ['deploy', specFile(`${app}-v1`, { ...base, image: 'demo/myapp:1' })])
    expect(first.code, first.stdout + first.stderr).toBe(0)
    stages.length = 0 // before the load starts

    // Announce times, as etcd delivers them to a watcher (within a ms or two of the put). A
    // name can come back (scale down, then up): each announcement counts on its own.
    const announced: { name: string; at: number }[] = []
    const watcher = await client.watch().prefix(`/${run.prefix}/`).create()
    watcher.on('put', (kv) => announced.push({ name: kv.key.toString().split('/').at(-1) as string, at: Date.now() }))

    const load = startLoad({ url: `${haproxy.url}/`, concurrency: 8, pauseMs: 15, maxDurationMs: 90_000 })
    let report: LoadReport
    let v2EndedAt: number
    let unreachableWindow = [0, 0]
    try {
      await new Promise((r) => setTimeout(r, 500)) // some v1 traffic before the rollout

      // A graceful HAProxy reload while the rollout runs: with --servers-file the new worker
      // starts with the live servers, and the old one finishes what it has.
      const deployV2 = stage('deploy v2 x5', ['deploy', specFile(`${app}-v2`, { ...base, image: 'demo/myapp:2' })])
      await new Promise((r) => setTimeout(r, 1500))
      const t0 = Date.now()
      await haproxy.reload()
      console.info(`[zdt] HAProxy reloaded during the v2 rollout (new worker answering after ${Date.now() - t0} ms)`)
      const v2 = await deployV2
      expect(v2.code, v2.stdout + v2.stderr).toBe(0)
      v2EndedAt = v2.endedAt

      const bad = await stage('deploy bad (rolled back)', ['deploy', specFile(`${app}-bad`, { ...base, image: 'demo/myapp:bad', 'health.deadline': '3s' })])
      expect(bad.code, bad.stdout + bad.stderr).toBe(EXIT.rolledBack)

      // A new revision HAProxy cannot reach (announced on 127.0.0.2, published on 127.0.0.1,
      // where forrest's own probe passes): HAProxy's verdict is "down", so it is rolled back.
      const unreachableSpec = specFile(`${app}-unreach`, { ...base, image: 'demo/myapp:1', 'announce.address': '127.0.0.2', 'health.deadline': '3s' })
      const unreachable = await stage('deploy HAProxy cannot reach (rolled back)', ['deploy', unreachableSpec], { FORREST_BIND_IP: '127.0.0.1' })
      expect(unreachable.code, unreachable.stdout + unreachable.stderr).toBe(EXIT.rolledBack)
      expect(unreachable.stderr).toContain('load balancer does not serve it')
      unreachableWindow = [unreachable.endedAt - unreachable.ms, unreachable.endedAt]

      // `forrest scale` itself, both ways: no fallback to deploys if it fails.
      const down = await stage('scale 5 → 2', ['scale', app, '2'])
      expect(down.code, down.stdout + down.stderr).toBe(0)
      const up = await stage('scale 2 → 5', ['scale', app, '5'])
      expect(up.code, up.stdout + up.stderr).toBe(0)
      expect(Object.keys(await client.getAll().prefix(`/${run.prefix}/`).strings())).toHaveLength(5)
      await new Promise((r) => setTimeout(r, 300)) // a little traffic on the final set
      stages.push({ what: 'the final set', startedAt: Date.now() - 300, endedAt: Date.now() })
    } finally {
      report = await load.stop()
      await watcher.cancel()
    }

    // Announce → first response through HAProxy answered by that instance (server header).
    const firstServedAfter = (name: string, at: number) => report.samples.find((s) => s.status === 200 && s.server === name && s.doneAt > at)?.doneAt ?? Number.NaN
    // The revision HAProxy could not reach was announced and never served, by design.
    const latencies = announced.filter(({ at }) => at < unreachableWindow[0]! || at > unreachableWindow[1]!).map(({ name, at }) => ({ name, ms: firstServedAfter(name, at) - at }))
    const ms = latencies.map((l) => l.ms)
    if (process.env.ZDT_DEBUG) {
      for (const { name, at } of announced) {
        const added = gateway.events.find((e) => e.type === 'added' && e.name === name && e.at >= at)
        const up = gateway.events.find((e) => e.type === 'up' && e.name === name && e.at >= at)
        console.info(name, 'put→added(read)', added ? added.at - at : '?', 'up.msSinceAdded', up?.type === 'up' ? up.msSinceAdded : '?', 'served', firstServedAfter(name, at) - at)
      }
    }
    const bodies = new Map<string, number>()
    for (const s of report.samples) if (s.status === 200) bodies.set(s.body, (bodies.get(s.body) ?? 0) + 1)
    const afterV2 = report.samples.filter((s) => s.sentAt > v2EndedAt! && s.status === 200)
    const failures = report.samples.filter((s) => s.status < 200 || s.status >= 300).slice(0, 5)
    console.info(
      `[zdt] requests ${report.sent}: ${report.ok} ok, ${report.non2xx} non-2xx, ${report.errors} connection errors; ` +
        `bodies ${JSON.stringify(Object.fromEntries(bodies))}\n` +
        `[zdt] announce→served over ${ms.length} instances: median ${median(ms)} ms, max ${Math.max(...ms)} ms (${ms.join(', ')})`,
    )

    expect(failures).toEqual([])
    // Traffic flowed through every stage, the last ones included (the load generator also stops
    // by itself after 90 s): at least 20 answered requests per second of each stage, all 200.
    const perStage = stages.map(({ what, startedAt, endedAt }) => {
      const during = report.samples.filter((s) => s.sentAt >= startedAt && s.sentAt <= endedAt)
      return { what, ms: endedAt - startedAt, sent: during.length, ok: during.filter((s) => s.status === 200).length }
    })
    console.info(`[zdt] requests per stage: ${perStage.map((p) => `${p.what} ${p.ok}/${p.sent} in ${p.ms} ms`).join('; ')}`)
    expect(perStage.map((p) => p.what)).toEqual(['deploy v2 x5', 'deploy bad (rolled back)', 'deploy HAProxy cannot reach (rolled back)', 'scale 5 → 2', 'scale 2 → 5', 'the final set'])
    for (const p of perStage) {
      expect(p.ok, JSON.stringify(p)).toBe(p.sent)
      expect(p.sent, JSON.stringify(p)).toBeGreaterThanOrEqual(Math.max(1, Math.floor(p.ms / 50)))
    }
    expect(report.non2xx).toBe(0)
    expect(report.errors).toBe(0)
    expect(report.sent).toBeGreaterThan(1000)
    expect(bodies.get('v1')).toBeGreaterThan(0)
    expect(bodies.get('v2')).toBeGreaterThan(0)
    expect(afterV2.length).toBeGreaterThan(0)
    expect(new Set(afterV2.map((s) => s.body))).toEqual(new Set(['v2']))
    // 5 new v2 instances + 3 from scaling up, every one served through HAProxy.
    expect(latencies.length).toBeGreaterThanOrEqual(8)
    expect(ms.every(Number.isFinite), JSON.stringify(latencies)).toBe(true)
    expect(gateway.events.filter((e) => e.type === 'warning')).toEqual([])
    expect(gateway.events.some((e) => e.type === 'haproxy-restarted')).toBe(true)
  }, 110_000)
})
