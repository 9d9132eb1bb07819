/**
 * Operating a fleet of hosts (issue #27) on the lab's h1 and h2 (mutual TLS): cordon, drain,
 * uncordon, for every app at once. Two apps, fleet-a behind a real HAProxy kept in step by
 * `forrest gateway` and fleet-b on a prefix of its own, its hosts from the shared inventory
 * (forrest.hosts.yml beside its file, `hosts: inventory`, picked by placement label). A deploy while h1 is cordoned places
 * nothing there; uncordon then a deploy rebalances; `forrest host drain h1` under load moves both
 * apps' instances to h2 with zero failed requests; a drain with nowhere to go is refused before
 * touching the app (exit 22); an unknown host is exit 2 with nothing changed; a drain SIGKILLed
 * halfway resumes when run again. A host removed from an app's list: its instances are retired
 * within the bounds when it answers; when it does not, the deploy is refused naming
 * --forget-host, and with it their keys and records are withdrawn, nothing on it touched. Needs scripts/lab/up.sh: fails, never skips, without it.
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { stringify } from 'yaml'
import type { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { createEtcdClient } from '../../src/registry/client.js'
import { forrest, testRun } from '../helpers/cli.js'
import { pollUntil } from '../helpers/etcd.js'
import { requireLab, type Lab } from '../helpers/lab.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { startLoad } from '../helpers/load.js'
import { specFile } from '../helpers/spec-file.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

const t = testRun('fleet')
const suffix = t.id.slice(-6)
const A = `fleet-a${suffix}`
const B = `fleet-b${suffix}`

describe('forrest host cordon / drain / uncordon across two apps on h1 and h2', () => {
  let lab: Lab
  let stack: LbStack
  let client: Etcd3
  let env: NodeJS.ProcessEnv

  const hosts = () => [
    { name: 'h1', docker: 'tcp://10.213.0.11:2376', address: '10.213.0.11', tls: { certPath: lab.certPath } },
    { name: 'h2', docker: 'tcp://10.213.0.12:2376', address: '10.213.0.12', tls: { certPath: lab.certPath } },
  ]
  const image = (tag: string) => `${lab.registry}/demo/myapp:${tag}`
  const common = () => ({ hosts: hosts(), 'health.interval': '100ms', 'health.deadline': '15s', 'update.drain': '500ms', 'update.stopGracePeriod': '2s' })
  const specA = (tag: string) => specFile(`${A}-${tag}`, { ...common(), name: A, replicas: 4, image: image(tag), 'gateways.required': 1 })
  // B takes its hosts from the shared inventory beside its file (forrest.hosts.yml), picked by label.
  const specB = (tag: string) => {
    const file = specFile(`${B}-${tag}`, { ...common(), hosts: 'inventory', placement: { labels: { pool: 'fleet' } }, name: B, replicas: 2, image: image(tag), 'announce.prefix': `${t.prefix}-b` })
    writeFileSync(join(dirname(file), 'forrest.hosts.yml'), stringify({ hosts: hosts().map((h) => ({ ...h, labels: { pool: 'fleet' } })) }))
    return file
  }
  /** Where each app's instances are, by its records: host → count. */
  const placed = async (app: string) => {
    const recs = Object.values(await client.getAll().prefix(`/forrest/apps/${app}/instances/`).strings()).map((v) => JSON.parse(v) as { host: string })
    const out: Record<string, number> = {}
    for (const r of recs) out[r.host] = (out[r.host] ?? 0) + 1
    return out
  }
  /** The test's containers of an app on a lab host (as an admin would list them). */
  const containersOn = async (host: 'h1' | 'h2', app: string) => (await lab.docker(host, 'ps', '-q', '--filter', `label=${t.label}`, '--filter', `label=forrest.app=${app}`)).split('\n').filter(Boolean)
  const ok = async (args: string[], timeout = 180_000) => {
    const res = await forrest(args, env, timeout)
    expect(res.code, `forrest ${args.join(' ')}\n${res.stdout}${res.stderr}`).toBe(0)
    return res
  }
  const hostKeys = async () => client.getAll().prefix('/forrest/hosts/').strings()

  beforeAll(async () => {
    lab = await requireLab()
    stack = await startLbStack(t)
    client = createEtcdClient([stack.etcd.endpoint], { callTimeoutMs: 3000 })
    env = { ...stack.env, DOCKER_HOST: '', DOCKER_CONFIG: lab.dockerConfig }
    await ok(['deploy', specA('1')])
    await ok(['deploy', specB('1')])
  }, 300_000)

  afterAll(async () => {
    for (const h of ['h1', 'h2'] as const) {
      const ids = await lab?.docker(h, 'ps', '-aq', '--filter', `label=${t.label}`).catch(() => '')
      if (ids) await lab.docker(h, 'rm', '-f', ...ids.split('\n'))
    }
    client?.close()
    await stack?.stop()
  }, 120_000)

  it('an unknown host is refused (exit 2) and nothing is written', async () => {
    for (const verb of ['cordon', 'drain', 'uncordon']) {
      const res = await forrest(['host', verb, 'h9'], env)
      expect(res.code, res.stdout + res.stderr).toBe(EXIT.badInput)
      expect(res.stderr).toMatch(/no host named "h9" in any app's hosts list or records; nothing was changed/)
      expect(res.stderr).toMatch(/Known hosts: h1, h2/)
    }
    expect(await hostKeys()).toEqual({})
  })

  it('a deploy while h1 is cordoned places nothing there; uncordon then a deploy rebalances', async () => {
    expect(await placed(A)).toEqual({ h1: 2, h2: 2 })
    const cordon = await ok(['host', 'cordon', 'h1'])
    expect(cordon.stdout).toMatch(/host h1: active → cordoned/)
    const ls = JSON.parse((await ok(['host', 'ls', '--json'])).stdout)
    expect(ls.hosts.find((h: { name: string }) => h.name === 'h1')).toMatchObject({ availability: 'cordoned', instances: { [A]: 2, [B]: 1 } })
    const status = await forrest(['status', A], env)
    expect(status.stdout).toMatch(/h1: cordoned since .*: no new instance goes there/)

    const v2 = JSON.parse((await ok(['deploy', specA('2'), '--json'])).stdout)
    expect(v2.plan.waves.flatMap((w: { starts: { host: string }[] }) => w.starts.map((s) => s.host))).toEqual(['h2', 'h2', 'h2', 'h2'])
    expect(v2.notes.join('\n')).toMatch(/host h1 is cordoned: no new instance of .* goes there/)
    expect(await placed(A)).toEqual({ h2: 4 })
    expect(await containersOn('h1', A)).toHaveLength(0)
    // B was not deployed: a cordon moves nothing by itself.
    expect(await placed(B)).toEqual({ h1: 1, h2: 1 })

    expect((await ok(['host', 'uncordon', 'h1'])).stdout).toMatch(/host h1: cordoned → active/)
    expect(await hostKeys()).toEqual({})
    await ok(['deploy', specA('2')])
    expect(await placed(A)).toEqual({ h1: 2, h2: 2 })
    expect(await containersOn('h1', A)).toHaveLength(2)
  }, 400_000)

  it('drain h1 under load through HAProxy: zero failed requests, every instance of both apps on h2, h1 drained', async () => {
    const load = startLoad({ url: `${stack.haproxy.url}/`, concurrency: 6, pauseMs: 20, maxDurationMs: 240_000 })
    let drain
    try {
      await pollUntil(() => load.report().ok > 20, { timeoutMs: 10_000, what: 'traffic through HAProxy before the drain' })
      drain = await forrest(['host', 'drain', 'h1', '--json'], env, 300_000)
    } finally {
      await new Promise((r) => setTimeout(r, 500)) // a little traffic after it, on h2 only
    }
    const report = await load.stop()
    expect(drain.code, drain.stdout + drain.stderr).toBe(0)
    const result = JSON.parse(drain.stdout)
    expect(result).toMatchObject({ host: 'h1', availability: 'drained', resumed: false })
    expect(result.apps).toEqual([
      { app: A, outcome: 'moved', moved: 2, revision: 2 },
      { app: B, outcome: 'moved', moved: 1, revision: 1 },
    ])
    expect(report.sent).toBeGreaterThan(100)
    expect(report.errors + report.non2xx, JSON.stringify(report.samples.filter((s) => s.status !== 200).slice(0, 5))).toBe(0)
    expect(await placed(A)).toEqual({ h2: 4 })
    expect(await placed(B)).toEqual({ h2: 2 })
    expect(await containersOn('h1', A)).toHaveLength(0)
    expect(await containersOn('h1', B)).toHaveLength(0)
    expect(JSON.parse((await ok(['host', 'ls', '--json'])).stdout).hosts.find((h: { name: string }) => h.name === 'h1')).toMatchObject({ availability: 'drained', instances: {} })
    // A deploy now (from any job) places nothing on h1 either.
    await ok(['deploy', specB('1')])
    expect(await placed(B)).toEqual({ h2: 2 })
  }, 400_000)

  it('a drain with nowhere to go stops before touching the app (exit 22), and the host stays draining', async () => {
    const before = await placed(A)
    const res = await forrest(['host', 'drain', 'h2'], env, 120_000)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.noRoom)
    expect(res.stderr).toMatch(new RegExp(`cannot drain h2: ${A} has 4 instances there and no other host may take them \\(its other hosts h1 are cordoned, draining, unreachable or outside its placement\\); ${A} was not touched, no app was moved; h2 stays draining`))
    expect(res.stderr).toMatch(/run forrest host drain h2 again: it resumes/)
    expect(await placed(A)).toEqual(before)
    expect(JSON.parse((await hostKeys())['/forrest/hosts/h2']!).availability).toBe('draining')
    await ok(['host', 'uncordon', 'h2'])
  }, 200_000)

  it('a drain SIGKILLed halfway resumes when run again', async () => {
    await ok(['host', 'uncordon', 'h1'])
    await ok(['deploy', specA('2')])
    await ok(['deploy', specB('1')])
    expect(await placed(A)).toEqual({ h1: 2, h2: 2 })
    expect(await placed(B)).toEqual({ h1: 1, h2: 1 })

    const child = spawn(process.execPath, ['bin/run.js', 'host', 'drain', 'h1'], { env, stdio: 'ignore' })
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    // Halfway: A's first instance on h2 beyond its two is recorded (started and announced), A not yet done.
    await pollUntil(async () => ((await placed(A)).h2 ?? 0) >= 3, { timeoutMs: 120_000, intervalMs: 50, what: 'the drain to start a new instance of A on h2' })
    child.kill('SIGKILL')
    await exited
    expect(JSON.parse((await hostKeys())['/forrest/hosts/h1']!).availability).toBe('draining')
    expect(await placed(B)).toEqual({ h1: 1, h2: 1 })

    // The killed run's lock lease lapses within seconds: wait for it.
    const again = await forrest(['host', 'drain', 'h1', '--wait-lock=1m', '--json'], env, 300_000)
    expect(again.code, again.stdout + again.stderr).toBe(0)
    const result = JSON.parse(again.stdout)
    expect(result).toMatchObject({ host: 'h1', availability: 'drained', resumed: true })
    expect(await placed(A)).toEqual({ h2: 4 })
    expect(await placed(B)).toEqual({ h2: 2 })
    expect(await containersOn('h1', A)).toHaveLength(0)
    expect(await containersOn('h2', A)).toHaveLength(4)
  }, 500_000)

  it('a host removed from the list: its instances are retired within the bounds (it answers)', async () => {
    await ok(['host', 'uncordon', 'h1'])
    await ok(['deploy', specA('2')])
    expect(await placed(A)).toEqual({ h1: 2, h2: 2 })
    // A record from before hosts lists named its host by its IP; its engine is h2's: it did not leave.
    const recs = await client.getAll().prefix(`/forrest/apps/${A}/instances/`).strings()
    const [key, val] = Object.entries(recs).find(([, v]) => JSON.parse(v).host === 'h2')!
    await client.put(key).value(JSON.stringify({ ...JSON.parse(val), host: '10.213.0.12' }))
    const onlyH2 = specFile(`${A}-h2only`, { ...common(), hosts: [hosts()[1]], name: A, replicas: 4, image: image('2'), 'gateways.required': 1 })
    const res = JSON.parse((await ok(['deploy', onlyH2, '--json'])).stdout)
    expect(res.notes.join('\n')).toMatch(/host h1 is no longer in .*'s hosts: its instances move to the others/)
    const retires = res.plan.waves.flatMap((w: { retires: { host: string; reason: string }[] }) => w.retires)
    expect(retires.map((r: { host: string; reason: string }) => `${r.host} ${r.reason}`)).toEqual(['h1 rebalance', 'h1 rebalance'])
    for (const w of res.plan.waves) expect(w.order).toBe('start-first')
    const after = await placed(A)
    expect(after.h1).toBeUndefined()
    expect((after.h2 ?? 0) + (after['10.213.0.12'] ?? 0)).toBe(4)
    expect(await containersOn('h1', A)).toHaveLength(0)
    expect(await containersOn('h2', A)).toHaveLength(4)
    const status = await forrest(['status', A], env)
    expect(status.code, status.stdout + status.stderr).toBe(0)
    expect(status.stdout).not.toMatch(/no longer in/)
    // The list last deployed is the one recorded (the revision is the same): h1 is no longer A's.
    const rows = JSON.parse((await ok(['host', 'ls', '--json'])).stdout).hosts
    expect(rows.find((h: { name: string }) => h.name === 'h1').apps).not.toContain(A)
    expect(rows.find((h: { name: string }) => h.name === 'h2').apps).toContain(A)
  }, 300_000)

  it('a removed host that does not answer is refused naming --forget-host; with it, its keys and records are withdrawn and nothing on it is touched', async () => {
    // h3: h1's engine through a proxy the test can cut (the engine's certificate names 127.0.0.1).
    const proxy = await startTcpProxy('10.213.0.11:2376')
    try {
      const h3 = { name: 'h3', docker: `tcp://${proxy.endpoint}`, address: '10.213.0.11', tls: { certPath: lab.certPath } }
      const withH3 = specFile(`${B}-h3`, { ...common(), hosts: [h3, hosts()[1]], name: B, replicas: 2, image: image('1'), 'announce.prefix': `${t.prefix}-b` })
      await ok(['deploy', withH3])
      expect(await placed(B)).toEqual({ h2: 1, h3: 1 })
      const keysB = async () => client.getAll().prefix(`/${t.prefix}-b/`).strings()
      const before = await keysB()
      proxy.cut()

      const onlyH2 = specFile(`${B}-h2only`, { ...common(), hosts: [hosts()[1]], name: B, replicas: 2, image: image('1'), 'announce.prefix': `${t.prefix}-b` })
      const refused = await forrest(['deploy', onlyH2], env, 120_000)
      expect(refused.code, refused.stdout + refused.stderr).toBe(EXIT.dockerUnreachable)
      expect(refused.stderr).toMatch(/a host no longer in its hosts list still has its instances by its records, and did not answer: h3 \(tcp:\/\/127\.0\.0\.1:\d+, 1 instance\).*; nothing was changed/)
      expect(refused.stderr).toMatch(/deploy with --forget-host h3 to withdraw their keys and records without touching the host/)
      expect(await keysB()).toEqual(before)

      const wrong = await forrest(['deploy', onlyH2, '--forget-host', 'h9'], env, 120_000)
      expect(wrong.code, wrong.stdout + wrong.stderr).toBe(EXIT.badInput)
      expect(wrong.stderr).toMatch(/--forget-host h9: .*'s records place no instance on a host of that name outside its hosts list; nothing was changed/)
      expect(await keysB()).toEqual(before)

      const forgot = await ok(['deploy', onlyH2, '--forget-host', 'h3'])
      expect(forgot.stdout).toMatch(/on h3 \(--forget-host\): its key and record are withdrawn; nothing on h3 is touched/)
      expect(await placed(B)).toEqual({ h2: 2 })
      expect(Object.values(await keysB()).every((a) => a.startsWith('10.213.0.12:'))).toBe(true)
      expect(Object.keys(await keysB())).toHaveLength(2)
      // The container on the host that did not answer was not touched (h3 is h1's engine).
      expect(await containersOn('h1', B)).toHaveLength(1)
    } finally {
      await proxy.close()
    }
  }, 400_000)
})
