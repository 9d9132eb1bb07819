/**
 * Canaries judged on real traffic: real etcd, HAProxy and `forrest gateway`, requests flowing
 * through HAProxy to /cgi-bin/app the whole time. A canary that answers 500 to 30% of requests
 * and one that answers after 0.5 s are both caught by the analysis and rolled back (exit 3, the
 * figures in the JSON); a good canary is promoted (exit 0). The failed requests the flaky canary
 * caused are counted and bounded by its share of the traffic over its time in service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import type { CanaryAnalysis } from '../../src/plan/canary.js'
import { forrest, testRun, type CliResult } from '../helpers/cli.js'
import type { TestHaproxy } from '../helpers/haproxy.js'
import { startLoad } from '../helpers/load.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('canary')
const app = `c${run.id.slice(-6)}`
const base = { name: app, replicas: 3, image: 'demo/myapp:cgi', 'health.interval': '100ms', 'health.deadline': '5s', 'update.stopGracePeriod': '1s', 'update.drain': '1s' }
const canary = { count: 1, window: '6s', minRequests: 20, maxErrorRateIncrease: 0.05, maxLatencyFactor: 2 }

/** The JSON forrest printed: the result on success, the error's detail on failure. */
function resultOf(res: CliResult): { canary?: CanaryAnalysis; outcome?: string; error?: { detail?: { canary?: CanaryAnalysis } } } {
  return JSON.parse(res.stdout) as never
}

describe('canary analysis through HAProxy + forrest gateway (real etcd, HAProxy, Docker)', () => {
  let haproxy: TestHaproxy
  let stack: LbStack
  let env: NodeJS.ProcessEnv

  beforeAll(async () => {
    stack = await startLbStack(run)
    ;({ haproxy, env } = stack)
    const first = await forrest(['deploy', specFile(`${app}-stable`, { ...base, env: { RELEASE: 'stable' } })], env, 60_000)
    expect(first.code, first.stdout + first.stderr).toBe(0)
  }, 90_000)

  afterAll(async () => {
    await stack?.stop()
  }, 40_000)

  /** Deploys under load; returns the CLI result, the analysis and what the load saw. */
  async function deployUnderLoad(name: string, changes: Record<string, unknown>) {
    const load = startLoad({ url: `${haproxy.url}/cgi-bin/app`, concurrency: 4, pauseMs: 10, maxDurationMs: 90_000 })
    await new Promise((r) => setTimeout(r, 1000)) // stable traffic before the canary
    const t0 = Date.now()
    const res = await forrest(['deploy', '--json', specFile(`${app}-${name}`, { ...base, 'update.canary': canary, ...changes })], env, 90_000)
    const ms = Date.now() - t0
    await new Promise((r) => setTimeout(r, 500))
    const report = await load.stop()
    const parsed = resultOf(res)
    const analysis = parsed.canary ?? parsed.error?.detail?.canary
    const during = report.samples.filter((s) => s.sentAt >= t0)
    const failed = during.filter((s) => s.status !== 200)
    const byCanary = analysis ? during.filter((s) => analysis.canary.instances.includes(s.server ?? '')) : []
    console.info(
      `[canary] ${name}: exit ${res.code} in ${ms} ms; ${during.length} requests during the deploy, ${failed.length} failed ` +
        `(${failed.filter((s) => s.status === 500).length} × 500, ${failed.filter((s) => s.status === 0).length} connection errors), ${byCanary.length} answered by the canary; ` +
        `analysis: ${JSON.stringify({ verdict: analysis?.verdict, canary: analysis?.canary, stable: analysis?.stable, reasons: analysis?.reasons })}`,
    )
    return { res, analysis, during, failed, byCanary, ms }
  }

  it('rolls back a canary that answers 500 to 30% of requests, with failed requests bounded by its share', async () => {
    const { res, analysis, during, failed, byCanary } = await deployUnderLoad('flaky', { image: 'demo/myapp:flaky' })
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
    expect(analysis?.verdict).toBe('failed')
    expect(analysis?.reasons.join('\n')).toMatch(/5xx rate/)
    expect(analysis!.canary.errorRate).toBeGreaterThan(0.1)
    expect(analysis!.stable.errors5xx).toBe(0)
    // Every failure came from the canary (none from the rollout itself), and the canary only got
    // its share: 1 of 4 servers under round robin, and only for the window and the rollback
    // around it, so at most a quarter of the requests sent during the deploy.
    expect(failed.length).toBeGreaterThan(0)
    expect(failed.every((s) => s.status === 500 && byCanary.includes(s))).toBe(true)
    expect(byCanary.length).toBeGreaterThan(0)
    expect(byCanary.length).toBeLessThanOrEqual(Math.ceil(during.length / 4))
    // Of those, the image fails 30% at random: at most 30% plus three standard deviations.
    expect(failed.length).toBeLessThanOrEqual(Math.ceil(byCanary.length * 0.3 + 3 * Math.sqrt(byCanary.length * 0.3 * 0.7)))
  }, 120_000)

  it('rolls back a canary that answers slowly', async () => {
    const { res, analysis, failed } = await deployUnderLoad('slow', { image: 'demo/myapp:slow' })
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
    expect(analysis?.verdict).toBe('failed')
    expect(analysis?.reasons.join('\n')).toMatch(/response time/)
    expect(analysis!.canary.rtimeMs).toBeGreaterThan(300)
    expect(failed).toEqual([])
  }, 120_000)

  it('promotes a good canary and finishes the rollout; history shows the verdict', async () => {
    const historyOf = async () => (JSON.parse((await forrest(['history', app, '--json'], env)).stdout) as { revisions: Array<{ revision: number; outcome: string; canary?: CanaryAnalysis }> }).revisions
    const before = await historyOf()
    const { res, analysis, failed } = await deployUnderLoad('good', { env: { RELEASE: 'next' } })
    expect(res.code, res.stdout + res.stderr).toBe(0)
    expect(resultOf(res).outcome).toBe('succeeded')
    expect(analysis?.verdict).toBe('passed')
    expect(analysis!.canary.responses).toBeGreaterThanOrEqual(20)
    expect(failed).toEqual([])
    // One more revision, this one, with the canary's verdict; whatever ran before (alone: only
    // the first deploy, with no canary) is unchanged below it.
    const revisions = await historyOf()
    expect(revisions.map((r) => [r.outcome, r.canary?.verdict])).toEqual([['succeeded', 'passed'], ...before.map((r) => [r.outcome, r.canary?.verdict])])
    expect(revisions.at(-1)).toMatchObject({ outcome: 'succeeded' })
    expect(revisions.at(-1)?.canary).toBeUndefined()
  }, 120_000)

  it('holds after a passing canary with pause: true (exit 19); promote continues, abort rolls the canary back', async () => {
    const held = await deployUnderLoad('pause1', { env: { RELEASE: 'pause1' }, 'update.canary': { ...canary, pause: true } })
    expect(held.res.code, held.res.stdout + held.res.stderr).toBe(EXIT.waitingForPromotion)
    expect(held.analysis?.verdict).toBe('passed')
    const promoted = await forrest(['promote', app, '--json'], env, 60_000)
    expect(promoted.code, promoted.stdout + promoted.stderr).toBe(0)
    const afterPromote = JSON.parse(promoted.stdout) as { revision: number; instances: Array<{ revision: number }> }
    expect(afterPromote.instances.map((i) => i.revision)).toEqual([afterPromote.revision, afterPromote.revision, afterPromote.revision])

    const held2 = await deployUnderLoad('pause2', { env: { RELEASE: 'pause2' }, 'update.canary': { ...canary, pause: true } })
    expect(held2.res.code, held2.res.stdout + held2.res.stderr).toBe(EXIT.waitingForPromotion)
    const aborted = await forrest(['abort', app, '--json'], env, 60_000)
    expect(aborted.code, aborted.stdout + aborted.stderr).toBe(0)
    const afterAbort = JSON.parse(aborted.stdout) as { revision: number; instances: Array<{ revision: number }> }
    expect(afterAbort.revision).toBe(afterPromote.revision)
    expect(afterAbort.instances.map((i) => i.revision)).toEqual([afterPromote.revision, afterPromote.revision, afterPromote.revision])
    const history = JSON.parse((await forrest(['history', app, '--json'], env)).stdout) as { revisions: Array<{ revision: number; outcome: string }> }
    expect(history.revisions.slice(0, 2).map((r) => r.outcome)).toEqual(['rolled-back', 'succeeded'])
    expect([...held.failed, ...held2.failed]).toEqual([])
  }, 180_000)
})
