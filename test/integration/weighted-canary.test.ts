/**
 * Canaries by share of traffic (update.canary.traffic / steps): real etcd, HAProxy, `forrest
 * gateway` and Docker, requests flowing through HAProxy to /cgi-bin/app the whole time. A 5%
 * canary among 10 instances gets 5% of the requests (HAProxy's counters, tolerance ±1.5 points)
 * and is judged on them; a stepped canary that breaks at its 25% step is rolled back with the
 * stable instances back at the default weight, and no request failed but the canary's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import type { CanaryAnalysis } from '../../src/plan/canary.js'
import { splitWeights } from '../../src/plan/weights.js'
import { docker, forrest, testRun, type CliResult } from '../helpers/cli.js'
import { pollUntil } from '../helpers/etcd.js'
import type { TestHaproxy } from '../helpers/haproxy.js'
import { startLoad } from '../helpers/load.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('weights')
const app = `weights-${run.id.slice(-6)}`
const REPLICAS = 10
const base = { name: app, replicas: REPLICAS, image: 'demo/myapp:cgi', 'health.interval': '100ms', 'health.deadline': '10s', 'update.stopGracePeriod': '1s', 'update.drain': '1s', 'update.maxSurge': 5 }
const canary = { count: 1, window: '5s', minRequests: 20, maxErrorRateIncrease: 0.05, maxLatencyFactor: 3 }
/** How far the share HAProxy gave the canary may be from the share asked for (percentage points). */
const TOLERANCE = 0.015

function resultOf(res: CliResult): { canary?: CanaryAnalysis; outcome?: string; error?: { detail?: { canary?: CanaryAnalysis } } } {
  return JSON.parse(res.stdout) as never
}

describe('weighted canary through HAProxy + forrest gateway (real etcd, HAProxy, Docker)', () => {
  let haproxy: TestHaproxy
  let stack: LbStack
  let env: NodeJS.ProcessEnv

  const weights = async () => new Map((await haproxy.runtime.servers('app')).map((s) => [s.name, s.weight]))

  beforeAll(async () => {
    stack = await startLbStack(run)
    ;({ haproxy, env } = stack)
    const first = await forrest(['deploy', specFile(`${app}-stable`, { ...base, env: { RELEASE: 'stable' } })], env, 120_000)
    expect(first.code, first.stdout + first.stderr).toBe(0)
  }, 150_000)

  afterAll(async () => {
    await stack?.stop()
  }, 60_000)

  async function deployUnderLoad(name: string, changes: Record<string, unknown>, during?: () => Promise<void>) {
    const load = startLoad({ url: `${haproxy.url}/cgi-bin/app`, concurrency: 4, pauseMs: 5, maxDurationMs: 150_000 })
    await pollUntil(() => load.report().samples.length > 50, { timeoutMs: 10_000, what: 'stable traffic before the canary' })
    const t0 = Date.now()
    const deploying = forrest(['deploy', '--json', specFile(`${app}-${name}`, { ...base, 'update.canary': canary, ...changes })], env, 150_000)
    await during?.()
    const res = await deploying
    const report = await load.stop()
    const parsed = resultOf(res)
    const analysis = parsed.canary ?? parsed.error?.detail?.canary
    const sent = report.samples.filter((s) => s.sentAt >= t0)
    const failed = sent.filter((s) => s.status !== 200)
    console.info(`[weights] ${name}: exit ${res.code}; ${sent.length} requests during the deploy, ${failed.length} failed; analysis: ${JSON.stringify({ verdict: analysis?.verdict, traffic: analysis?.traffic, steps: analysis?.steps, canary: analysis?.canary.responses, stable: analysis?.stable.responses, reasons: analysis?.reasons })}`)
    return { res, analysis, failed }
  }

  it(`a 5% canary among ${REPLICAS} instances receives 5% ±${TOLERANCE * 100} points of the requests through HAProxy, is judged on them, and is promoted`, async () => {
    const { res, analysis, failed } = await deployUnderLoad('five', { env: { RELEASE: 'five' }, 'update.canary': { ...canary, traffic: '5%' } })
    expect(res.code, res.stdout + res.stderr).toBe(0)
    expect(analysis?.verdict).toBe('passed')
    const split = splitWeights(1, REPLICAS, 0.05)
    expect(analysis?.traffic?.weights).toEqual({ canary: split.canary, stable: split.stable })
    expect(analysis?.traffic?.asked).toBe(0.05)
    // HAProxy's own counters over the window: the canary's share of all responses.
    expect(Math.abs(analysis!.traffic!.received - 0.05)).toBeLessThanOrEqual(TOLERANCE)
    expect(analysis!.canary.responses).toBeGreaterThanOrEqual(canary.minRequests)
    expect(analysis!.stable.instances).toHaveLength(REPLICAS)
    expect(failed).toEqual([])
    // Done: every instance of the new revision at the default weight.
    const after = await weights()
    expect([...after.values()]).toEqual(Array(REPLICAS).fill(100))
    // history: the share asked for, received and the weights, in --json and in the table.
    const history = await forrest(['history', app, '--json'], env)
    const latest = (JSON.parse(history.stdout) as { revisions: Array<{ canary?: CanaryAnalysis }> }).revisions[0]
    expect(latest?.canary?.traffic).toEqual(analysis?.traffic)
    const table = await forrest(['history', app], env)
    expect(table.stdout).toContain(`canary passed at 5.0% of traffic (weights ${split.canary}/${split.stable}, received `)
  }, 200_000)

  it('a stepped canary (5% → 25% → 50% → 100%) that breaks at 25% is rolled back; the stable instances are back at weight 100', async () => {
    const steps = ['5%', '25%', '50%', '100%']
    const at25 = splitWeights(1, REPLICAS, 0.25)
    let broken: string | undefined
    let status: CliResult | undefined
    let statusText = ''
    // The canary breaks once it gets a quarter of the traffic (as a regression under load would).
    const breakAt25 = async () => {
      await pollUntil(
        async () => {
          for (const [name, w] of await weights()) if (w === at25.canary && /-r\d+-/.test(name)) broken = name
          return broken !== undefined
        },
        { timeoutMs: 60_000, intervalMs: 50, what: 'the canary at its 25% weight' },
      )
      await docker('exec', broken!, 'sh', '-c', `printf '#!/bin/sh\\nprintf "Status: 500 Internal Server Error\\\\r\\\\nContent-Type: text/plain\\\\r\\\\n\\\\r\\\\nbroken\\\\n"\\n' > /www/cgi-bin/app`)
      // status, while the canary is at 25%: each instance's weight as HAProxy has it.
      ;[status, { stdout: statusText }] = await Promise.all([forrest(['status', app, '--json'], env), forrest(['status', app], env)])
    }
    const { res, analysis, failed } = await deployUnderLoad('stepped', { env: { RELEASE: 'stepped' }, 'update.canary': { ...canary, window: '8s', steps } }, breakAt25)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
    expect(analysis?.verdict).toBe('failed')
    expect(analysis?.reasons.join('\n')).toMatch(/5xx rate/)
    expect(analysis?.steps?.map((s) => [s.asked, s.verdict])).toEqual([
      [0.05, 'passed'],
      [0.25, 'failed'],
    ])
    expect(analysis?.canary.instances).toEqual([broken])
    // Every failed request was answered by the broken canary; none by the rollout itself.
    expect(failed.length).toBeGreaterThan(0)
    expect(failed.every((s) => s.status === 500 && s.server === broken)).toBe(true)
    // Rolled back: the stable revision only, all at the default weight.
    const after = await weights()
    expect(after.has(broken!)).toBe(false)
    expect(after.size).toBe(REPLICAS)
    expect([...after.values()]).toEqual(Array(REPLICAS).fill(100))
    // status at the 25% step (exit 10: a rollout in progress) said so, in --json and in the table.
    expect(status?.code).toBe(EXIT.notConverged)
    // Not converged: the report is the error's detail.
    const instances = (JSON.parse(status!.stdout) as { error: { detail: { apps: Array<{ instances: Array<{ name: string; weight?: number }> }> } } }).error.detail.apps[0]!.instances
    expect(instances.find((i) => i.name === broken)?.weight).toBe(at25.canary)
    expect(instances.filter((i) => i.name !== broken).map((i) => i.weight)).toEqual(Array(REPLICAS).fill(at25.stable))
    expect(statusText).toMatch(/WEIGHT/)
    expect(statusText).toMatch(new RegExp(`${broken}\\s.*\\s${at25.canary}\\s+│\\s*$`, "m"))
  }, 200_000)
})
