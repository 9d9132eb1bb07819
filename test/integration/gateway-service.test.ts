/**
 * `forrest gateway` as a production service (issue 29), against real etcd, HAProxy and Docker:
 * its metrics move as a real rollout does (and pass promtool), readiness follows etcd, SIGTERM
 * releases the lease at once, and TLS through the starter config survives a certificate swap
 * under load with zero failed requests.
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { Agent, request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { promisify } from 'node:util'
import type { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { createEtcdClient } from '../../src/registry/client.js'
import { readGatewayAcks, waitForGatewayAcks } from '../../src/registry/gateway-acks.js'
import { forrest, testRun } from '../helpers/cli.js'
import { freePort, pollUntil } from '../helpers/etcd.js'
import { startGatewayCli } from '../helpers/gateway-cli.js'
import { startHaproxy } from '../helpers/haproxy.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { specFile } from '../helpers/spec-file.js'

const execFileP = promisify(execFile)
const run = testRun('gwsvc')
const app = `s${run.id.slice(-6)}`
const base = { name: app, replicas: 2, 'health.interval': '100ms', 'health.deadline': '5s', 'update.stopGracePeriod': '1s' }

/** The value of one sample in a Prometheus text exposition (labels: a subset to match), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3])
  }
  return undefined
}

async function get(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
    return { status: res.status, body: await res.text() }
  } catch (err) {
    return { status: 0, body: String(err) }
  }
}

describe('forrest gateway as a service (real etcd, HAProxy, Docker)', () => {
  let stack: LbStack
  let client: Etcd3
  let metricsUrl: string

  beforeAll(async () => {
    const port = await freePort()
    metricsUrl = `http://127.0.0.1:${port}`
    stack = await startLbStack(run, { gatewayArgs: ['--metrics', `127.0.0.1:${port}`] })
    client = createEtcdClient([stack.etcd.endpoint], { callTimeoutMs: 2000 })
  }, 40_000)

  afterAll(async () => {
    client?.close()
    await stack?.stop()
  }, 40_000)

  it('metrics move with a real rollout (servers up, verdicts, announce → served, a drain) and pass promtool', async () => {
    const scrape = async () => {
      const r = await get(`${metricsUrl}/metrics`)
      expect(r.status).toBe(200)
      return r.body
    }
    const before = await scrape()
    expect(sample(before, 'forrest_gateway_lease_held')).toBe(1)
    expect(sample(before, 'forrest_gateway_servers', { backend: 'app', state: 'up' })).toBe(0)
    expect(sample(before, 'forrest_gateway_announce_to_served_seconds_count')).toBe(0)
    expect(sample(before, 'forrest_gateway_withdraw_to_drained_seconds_count', { forced: 'false' })).toBe(0)

    // Scrape all through both rollouts: the served and drained counts only ever grow.
    const series: { served: number; drained: number; up: number }[] = []
    let scraping = true
    const scraper = (async () => {
      while (scraping) {
        const t = await scrape()
        series.push({
          served: sample(t, 'forrest_gateway_announce_to_served_seconds_count') ?? -1,
          drained: sample(t, 'forrest_gateway_withdraw_to_drained_seconds_count', { forced: 'false' }) ?? -1,
          up: sample(t, 'forrest_gateway_servers', { backend: 'app', state: 'up' }) ?? -1,
        })
        await new Promise((r) => setTimeout(r, 50)) // scrape interval
      }
    })()
    let v1: Awaited<ReturnType<typeof forrest>>
    let v2: Awaited<ReturnType<typeof forrest>>
    try {
      v1 = await forrest(['deploy', specFile(`${app}-v1`, { ...base, image: 'demo/myapp:1' })], stack.env, 60_000)
      expect(v1.code, v1.stdout + v1.stderr).toBe(0)
      v2 = await forrest(['deploy', specFile(`${app}-v2`, { ...base, image: 'demo/myapp:2' })], stack.env, 60_000)
      expect(v2.code, v2.stdout + v2.stderr).toBe(0)
      // The gauges describe HAProxy as of the gateway's last pass: a drained server leaves them on the pass that deletes it.
      await pollUntil(
        async () => {
          const t = await scrape()
          return sample(t, 'forrest_gateway_withdraw_to_drained_seconds_count', { forced: 'false' }) === 2 && sample(t, 'forrest_gateway_servers', { backend: 'app', state: 'up' }) === 2
        },
        { timeoutMs: 10_000, what: 'two drains counted and two servers up' },
      )
    } finally {
      scraping = false
      await scraper
    }
    const after = await scrape()
    // v1's two instances and v2's two were announced and served; v1's two were drained.
    expect(sample(after, 'forrest_gateway_announce_to_served_seconds_count')).toBe(4)
    expect(sample(after, 'forrest_gateway_announce_to_served_seconds_sum')).toBeGreaterThan(0)
    expect(sample(after, 'forrest_gateway_announce_to_served_seconds_bucket', { le: '+Inf' })).toBe(4)
    expect(sample(after, 'forrest_gateway_withdraw_to_drained_seconds_count', { forced: 'false' })).toBe(2)
    expect(sample(after, 'forrest_gateway_servers', { backend: 'app', state: 'up' })).toBe(2)
    expect(sample(after, 'forrest_gateway_servers', { backend: 'app', state: 'draining' })).toBe(0)
    expect(sample(after, 'forrest_gateway_server_verdicts', { verdict: 'up', reason: '' })).toBe(2)
    expect(sample(after, 'forrest_gateway_verdicts_total', { verdict: 'up', reason: '' })).toBeGreaterThanOrEqual(4)
    expect(sample(after, 'forrest_gateway_acks_published_total')).toBeGreaterThan(sample(before, 'forrest_gateway_acks_published_total') ?? 0)
    expect(sample(after, 'forrest_gateway_sync_passes_total', { result: 'ok' })).toBeGreaterThan(sample(before, 'forrest_gateway_sync_passes_total', { result: 'ok' }) ?? 0)
    expect(sample(after, 'forrest_gateway_sync_duration_seconds_count')).toBeGreaterThan(0)
    expect(sample(after, 'forrest_gateway_applied_revision')).toBeGreaterThan(sample(before, 'forrest_gateway_applied_revision') ?? 0)
    expect(Date.now() / 1000 - (sample(after, 'forrest_gateway_last_sync_timestamp_seconds') ?? 0)).toBeLessThan(10)
    expect(sample(after, 'forrest_gateway_runtime_api_errors_total', { kind: 'unreachable' })).toBe(0)
    // The series moved with the rollouts: monotonic, and it passed through the middle.
    for (let i = 1; i < series.length; i++) {
      expect(series[i].served).toBeGreaterThanOrEqual(series[i - 1].served)
      expect(series[i].drained).toBeGreaterThanOrEqual(series[i - 1].drained)
    }
    expect(series.some((s) => s.served === 2 && s.drained === 0 && s.up === 2)).toBe(true)
    console.info(`[gwsvc] ${series.length} scrapes; served counts seen: ${[...new Set(series.map((s) => s.served))].join(',')}; drained: ${[...new Set(series.map((s) => s.drained))].join(',')}`)

    const dir = await mkdtemp(join(tmpdir(), 'forrest-metrics-'))
    try {
      await writeFile(join(dir, 'metrics.txt'), after)
      const lint = await execFileP('sh', ['-c', `promtool check metrics < ${join(dir, 'metrics.txt')}`]).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout}${e.stderr}` }),
      )
      expect(lint, lint.out).toEqual({ code: 0, out: '' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)

  it('a real Prometheus scrapes it, and every query of the Grafana dashboard runs on what it scraped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forrest-prometheus-'))
    const port = await freePort()
    const api = `http://127.0.0.1:${port}/api/v1/query?query=`
    await writeFile(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 500ms\nscrape_configs:\n  - job_name: forrest-gateway\n    static_configs:\n      - targets: ['${new URL(metricsUrl).host}']\n`)
    const prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    prom.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-2000)))
    const query = async (q: string) => (await (await fetch(api + encodeURIComponent(q), { signal: AbortSignal.timeout(2000) })).json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } }
    try {
      // Two scrapes at least, so rate() has something to work on.
      await pollUntil(async () => Number((await query('count_over_time(forrest_gateway_lease_held[1m])')).data.result[0]?.value[1] ?? 0) >= 2, { timeoutMs: 20_000, intervalMs: 250, what: `prometheus scraping the gateway (${stderr})` })
      expect((await query('up{job="forrest-gateway"}')).data.result[0]?.value[1]).toBe('1')
      const up = await query('sum by (state) (forrest_gateway_servers{backend="app"})')
      expect(Object.fromEntries(up.data.result.map((r) => [r.metric.state, r.value[1]]))).toMatchObject({ up: '2', draining: '0', pending: '0' })
      const dashboard = JSON.parse(await readFile('examples/grafana/forrest-gateway.json', 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] }
      for (const panel of dashboard.panels) {
        for (const t of panel.targets) {
          const expr = t.expr.replaceAll('$__rate_interval', '1m').replaceAll('$backend', 'app').replaceAll('$instance', '.*')
          const res = await query(expr)
          expect(res, `${panel.title}: ${expr}`).toMatchObject({ status: 'success' })
          // The gateway's own series are there (HAProxy's exporter is not scraped here).
          if (/^sum by \(state\)|forrest_gateway_lease_held|last_sync|applied_revision/.test(expr)) expect(res.data.result.length, `${panel.title}: ${expr}`).toBeGreaterThan(0)
        }
      }
    } finally {
      const exited = new Promise((r) => prom.once('exit', r))
      prom.kill('SIGTERM')
      await exited
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('/healthz is live; /readyz goes 503 while etcd is stopped and 200 again after', async () => {
    expect((await get(`${metricsUrl}/healthz`)).status).toBe(200)
    expect(await get(`${metricsUrl}/readyz`)).toEqual({ status: 200, body: 'ready\n' })
    await stack.etcd.pause()
    let down = { status: 0, body: '' }
    try {
      const t0 = Date.now()
      await pollUntil(async () => (down = await get(`${metricsUrl}/readyz`)).status === 503, { timeoutMs: 15_000, intervalMs: 200, what: '/readyz 503 with etcd stopped' })
      console.info(`[gwsvc] not ready ${Date.now() - t0} ms after etcd stopped: ${down.body.trim()}`)
      expect(down.body).toMatch(/^not ready: etcd lease not held/)
      expect((await get(`${metricsUrl}/healthz`)).status).toBe(200)
      expect(sample((await get(`${metricsUrl}/metrics`)).body, 'forrest_gateway_lease_held')).toBe(0)
    } finally {
      await stack.etcd.resume()
    }
    const t1 = Date.now()
    await pollUntil(async () => (await get(`${metricsUrl}/readyz`)).status === 200, { timeoutMs: 20_000, intervalMs: 200, what: '/readyz 200 after etcd is back' })
    console.info(`[gwsvc] ready again ${Date.now() - t1} ms after etcd came back`)
    // And the gateway acks again: its key is back in etcd.
    await pollUntil(async () => (await readGatewayAcks(client, run.prefix)).acks.has(`gw-${run.id}`), { timeoutMs: 10_000, what: 'ack key back' })
  }, 60_000)

  it('after an etcd outage longer than its lease, the gateway takes a new lease, acks again and is ready again', async () => {
    await pollUntil(async () => (await get(`${metricsUrl}/readyz`)).status === 200, { timeoutMs: 10_000, what: 'ready before' })
    await stack.etcd.pause()
    try {
      // The outage itself is what is under test: it must outlast the lease (etcd3 gives a lease up
      // 2 × TTL = 10 s after its last renewal), so this is a duration, not a wait for readiness.
      await new Promise((r) => setTimeout(r, 12_000))
      expect((await get(`${metricsUrl}/readyz`)).status).toBe(503)
    } finally {
      await stack.etcd.resume()
    }
    const t1 = Date.now()
    await pollUntil(async () => (await get(`${metricsUrl}/readyz`)).status === 200, { timeoutMs: 20_000, intervalMs: 200, what: '/readyz 200 after a long etcd outage' })
    await pollUntil(async () => (await readGatewayAcks(client, run.prefix)).acks.has(`gw-${run.id}`), { timeoutMs: 10_000, what: 'ack key back after a long outage' })
    console.info(`[gwsvc] acking and ready again ${Date.now() - t1} ms after a 12 s etcd outage`)
  }, 60_000)

  it('with HAProxy gone, passes fail: runtime API errors count up and /readyz turns 503 once the last sync is stale', async () => {
    const haproxy = await startHaproxy()
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const gw = await startGatewayCli({ socket: haproxy.socket, env: stack.env, id: `gwha-${run.id}`, args: ['--metrics', `127.0.0.1:${port}`] })
    try {
      await pollUntil(async () => (await get(`${url}/readyz`)).status === 200, { timeoutMs: 10_000, what: 'ready' })
      await haproxy.stop()
      const t0 = Date.now()
      let r = { status: 0, body: '' }
      await pollUntil(async () => (r = await get(`${url}/readyz`)).status === 503, { timeoutMs: 20_000, intervalMs: 250, what: '/readyz 503 with HAProxy gone' })
      console.info(`[gwsvc] not ready ${Date.now() - t0} ms after HAProxy stopped: ${r.body.trim()}`)
      expect(r.body).toMatch(/^not ready: last successful sync \d+\.\ds ago \(limit 10s\)$/m)
      const m = (await get(`${url}/metrics`)).body
      expect(sample(m, 'forrest_gateway_runtime_api_errors_total', { kind: 'unreachable' })).toBeGreaterThan(0)
      expect(sample(m, 'forrest_gateway_sync_passes_total', { result: 'failed' })).toBeGreaterThan(0)
      expect(sample(m, 'forrest_gateway_lease_held')).toBe(1)
      expect((await get(`${url}/healthz`)).status).toBe(200)
    } finally {
      await gw.stop()
      await haproxy.stop()
    }
  }, 60_000)

  it('SIGTERM revokes the lease: a deploy waiting on acks sees the gateway leave within a second', async () => {
    const second = await startGatewayCli({ socket: stack.haproxy.socket, env: stack.env, id: `gw2-${run.id}` })
    try {
      const ids = new Set([`gw-${run.id}`, `gw2-${run.id}`])
      await pollUntil(async () => { const { acks } = await readGatewayAcks(client, run.prefix); return [...ids].every((id) => acks.has(id)) }, { timeoutMs: 10_000, what: 'both gateways acking' })
      const { revision } = await readGatewayAcks(client, run.prefix)
      // What a deploy does after an announce nobody has applied yet: wait for every live gateway.
      const waiting = waitForGatewayAcks(client, run.prefix, revision + 1000, { timeoutMs: 15_000, expected: ids })
      await new Promise((r) => setTimeout(r, 300)) // the wait is under way (its watch is open)
      const t0 = Date.now()
      const exited = new Promise<number | null>((r) => second.proc.once('exit', (code) => r(code)))
      second.proc.kill('SIGTERM')
      const result = await waiting
      const seenAfter = Date.now() - t0
      console.info(`[gwsvc] the waiting deploy saw gw2 leave ${seenAfter} ms after SIGTERM`)
      expect(result.outcome).toBe('failed')
      expect(result.problems?.join('\n')).toMatch(new RegExp(`gateway gw2-${run.id}: stopped acknowledging`))
      expect(seenAfter).toBeLessThan(1000)
      expect(await exited).toBe(EXIT.ok)
      // HAProxy is left as it is: the live servers still serve.
      expect((await get(stack.haproxy.url)).status).toBe(200)
    } finally {
      await second.stop()
    }
  }, 60_000)

  it('TLS at the edge: the starter config terminates TLS, redirects HTTP, and a certificate swap drops no request', async () => {
    const certDir = await mkdtemp(join(tmpdir(), 'forrest-certs-'))
    const makeCert = (cn: string, file: string) => {
      const key = join(certDir, `.${cn}.key`)
      const crt = join(certDir, `.${cn}.crt`)
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${cn}`, '-keyout', key, '-out', crt], { stdio: 'ignore' })
      execFileSync('sh', ['-c', `cat ${crt} ${key} > ${file} && rm ${crt} ${key}`])
    }
    const liveDir = join(certDir, 'live')
    execFileSync('mkdir', [liveDir])
    makeCert('forrest-old', join(liveDir, 'site.pem'))
    const haproxy = await startHaproxy({ tlsCertDir: liveDir })
    const gw = await startGatewayCli({ socket: haproxy.socket, env: stack.env, id: `gwtls-${run.id}` })
    const agent = new Agent({ keepAlive: true, rejectUnauthorized: false })
    const httpsUrl = haproxy.httpsUrl as string
    const httpsGet = (keepAlive: boolean) =>
      new Promise<{ status: number; cn?: string; error?: string }>((resolve) => {
        const req = request(`${httpsUrl}/`, { agent: keepAlive ? agent : false, rejectUnauthorized: false, timeout: 3000 }, (res) => {
          const cert = res.socket && 'getPeerCertificate' in res.socket ? (res.socket as import('node:tls').TLSSocket).getPeerCertificate() : undefined
          res.resume()
          res.on('end', () => resolve({ status: res.statusCode ?? 0, cn: cert?.subject?.CN as string | undefined }))
        })
        req.on('timeout', () => req.destroy(new Error('timeout')))
        req.on('error', (err) => resolve({ status: 0, error: err.message }))
        req.end()
      })
    const servedCn = () =>
      new Promise<string>((resolve, reject) => {
        const u = new URL(httpsUrl)
        const s = connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
          const cn = s.getPeerCertificate().subject?.CN as string
          s.end()
          resolve(cn)
        })
        s.on('error', reject)
      })
    try {
      await pollUntil(async () => (await httpsGet(false)).status === 200, { timeoutMs: 15_000, what: 'HTTPS through HAProxy' })
      expect(await servedCn()).toBe('forrest-old')
      const redirect = await fetch(`${haproxy.url}/some/path`, { redirect: 'manual', signal: AbortSignal.timeout(2000) })
      expect(redirect.status).toBe(301)
      expect(redirect.headers.get('location')).toMatch(/^https:\/\/127\.0\.0\.1(:\d+)?\/some\/path$/)

      // Load: keep-alive and new-connection loops, through the swap.
      let stop = false
      const counts = { ok: 0, failed: 0, failures: [] as string[], cns: new Set<string>() }
      const loops = [true, true, false, false].map(async (keepAlive) => {
        while (!stop) {
          const r = await httpsGet(keepAlive)
          if (r.status === 200) counts.ok++
          else {
            counts.failed++
            if (counts.failures.length < 5) counts.failures.push(`${r.status} ${r.error ?? ''}`)
          }
          if (r.cn) counts.cns.add(r.cn)
        }
      })
      await new Promise((r) => setTimeout(r, 500)) // traffic before the swap
      const fresh = join(certDir, 'renewed.pem')
      makeCert('forrest-new', fresh)
      const hook = await execFileP('examples/certbot/haproxy-deploy-hook.sh', [], {
        env: { ...process.env, CERT_PEM: fresh, CERT_NAME: 'site.pem', HAPROXY_SOCKET: haproxy.socket, HAPROXY_CERT_DIR: liveDir },
      })
      expect(hook.stdout).toMatch(/HAProxy serves the new .*site\.pem \(no reload\)/)
      await pollUntil(async () => (await servedCn()) === 'forrest-new', { timeoutMs: 5000, what: 'new certificate served' })
      await new Promise((r) => setTimeout(r, 500)) // traffic after the swap
      stop = true
      await Promise.all(loops)
      console.info(`[gwsvc] TLS swap under load: ${counts.ok} ok, ${counts.failed} failed, certificates seen: ${[...counts.cns].join(', ')}`)
      expect(counts.failures).toEqual([])
      expect(counts.failed).toBe(0)
      expect(counts.ok).toBeGreaterThan(20)
      expect(counts.cns).toEqual(new Set(['forrest-old', 'forrest-new']))
      // The file on disk is the new one too, so a reload keeps it; no reload happened.
      expect(execFileSync('openssl', ['x509', '-noout', '-subject', '-in', join(liveDir, 'site.pem')], { encoding: 'utf8' })).toMatch(/CN ?= ?forrest-new/)
    } finally {
      agent.destroy()
      await gw.stop()
      await haproxy.stop()
      await rm(certDir, { recursive: true, force: true })
    }
  }, 90_000)
})
