/**
 * update.blueGreen.keepOld: real etcd, HAProxy, `forrest gateway` and Docker, requests flowing
 * through HAProxy. keepOld 0s retires the old colour right after the switch (0 failed requests);
 * within the window a scale keeps the standby and `forrest rollback` switches back starting
 * nothing; a short keepOld expires and `forrest tidy` retires the standby, a second tidy is a no-op.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { containersWithLabel, docker, forrest, testRun } from '../helpers/cli.js'
import type { TestHaproxy } from '../helpers/haproxy.js'
import { startLoad, type LoadSample } from '../helpers/load.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('keepold')
const app = `keepold-${run.id.slice(-6)}`
const base = { name: app, replicas: 3, image: 'demo/myapp:cgi', 'health.interval': '100ms', 'health.deadline': '10s', 'update.stopGracePeriod': '1s', 'update.drain': '1s' }
const blueGreen = (release: string, blueGreen: Record<string, unknown> = {}) =>
  specFile(`${app}-${release}`, { ...base, env: { RELEASE: release }, 'update.strategy': 'blue-green', ...(Object.keys(blueGreen).length ? { 'update.blueGreen': blueGreen } : {}) })

interface StandbyJson {
  revision: number
  instances: string[]
  until?: string
  expired?: boolean
}

describe('blue/green keepOld through HAProxy + forrest gateway (real etcd, HAProxy, Docker)', () => {
  let haproxy: TestHaproxy
  let stack: LbStack
  let env: NodeJS.ProcessEnv

  const weights = async () => Object.fromEntries((await haproxy.runtime.servers('app')).map((s) => [s.name, s.weight]).sort())
  const containerNames = async () => (await Promise.all((await containersWithLabel(run.label)).map((id) => docker('inspect', '-f', '{{.Name}}', id)))).map((n) => n.replace(/^\//, '')).sort()
  const containerIds = async () => (await containersWithLabel(run.label)).sort()
  const standby = async (): Promise<StandbyJson | undefined> => {
    const res = await forrest(['status', app, '--json'], env)
    expect(res.code, res.stdout + res.stderr).toBe(0)
    return (JSON.parse(res.stdout) as { apps: Array<{ standby?: StandbyJson }> }).apps[0]?.standby
  }

  /** Polls status until the standby's keepOld has passed (a deadline well past the few seconds asked). */
  const untilExpired = async (): Promise<StandbyJson | undefined> => {
    const deadline = Date.now() + 20_000
    let s = await standby()
    while (!s?.expired && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250))
      s = await standby()
    }
    return s
  }

  beforeAll(async () => {
    stack = await startLbStack(run)
    ;({ haproxy, env } = stack)
    const first = await forrest(['deploy', specFile(`${app}-blue`, { ...base, env: { RELEASE: 'blue' } })], env, 90_000)
    expect(first.code, first.stdout + first.stderr).toBe(0)
  }, 120_000)

  afterAll(async () => {
    await stack?.stop()
  }, 60_000)

  async function underLoad(args: string[]) {
    const load = startLoad({ url: `${haproxy.url}/cgi-bin/app`, concurrency: 4, pauseMs: 5, maxDurationMs: 120_000 })
    await new Promise((r) => setTimeout(r, 500)) // traffic before the change
    const t0 = Date.now()
    const res = await forrest(args, env, 120_000)
    const t1 = Date.now()
    await new Promise((r) => setTimeout(r, 1000)) // traffic after it
    const report = await load.stop()
    const during = report.samples.filter((s) => s.sentAt >= t0)
    const after = report.samples.filter((s) => s.sentAt >= t1)
    const failed = during.filter((s) => s.status !== 200)
    const bodies = (xs: LoadSample[]) => [...new Set(xs.map((s) => s.body))].sort()
    console.info(`[keep-old] ${args.join(' ')}: exit ${res.code} in ${t1 - t0} ms; ${during.length} requests, ${failed.length} failed ${JSON.stringify(failed.slice(0, 3))}; after ${JSON.stringify(bodies(after))}`)
    return { res, failed, after: bodies(after) }
  }

  it('keepOld 0s retires the old colour right after the switch; 0 failed requests', async () => {
    const blue = await containerNames()
    const deploy = await underLoad(['deploy', blueGreen('green', { keepOld: '0s' })])
    expect(deploy.res.code, deploy.res.stdout + deploy.res.stderr).toBe(0)
    expect(deploy.res.stdout).toContain('revision 1 is drained and stopped after the switch (update.blueGreen.keepOld: 0s)')
    expect(deploy.failed).toEqual([])
    expect(deploy.after).toEqual(['green'])
    const green = await containerNames()
    expect(green).toHaveLength(3)
    expect(green.filter((n) => blue.includes(n))).toEqual([])
    expect(await weights()).toEqual(Object.fromEntries(green.map((n) => [n, 100])))
    expect(await standby()).toBeUndefined()
  }, 200_000)

  it('within keepOld a scale keeps the standby, and rollback switches back starting nothing; 0 failed requests', async () => {
    const green = await containerNames()
    const greenIds = await containerIds()
    const t0 = Date.now()
    const deploy = await underLoad(['deploy', blueGreen('teal')]) // keepOld: the default, 30m
    expect(deploy.res.code, deploy.res.stdout + deploy.res.stderr).toBe(0)
    expect(deploy.failed).toEqual([])
    const kept = await standby()
    expect(kept).toMatchObject({ revision: 2, instances: green, expired: false })
    const until = Date.parse(kept!.until!)
    expect(until).toBeGreaterThanOrEqual(t0 + 30 * 60_000)
    expect(until).toBeLessThanOrEqual(Date.now() + 30 * 60_000)
    const text = await forrest(['status', app], env)
    expect(text.stdout).toMatch(new RegExp(`revision 2 stands by at weight 0 \\(${green.join(', ')}\\) until \\d\\d:\\d\\d UTC \\(in 30m\\): forrest rollback ${app} switches back in one step`))

    // A scale (down, then up) before the deadline leaves the standby running, with its deadline.
    for (const n of ['2', '3']) {
      const scaled = await forrest(['scale', app, n], env, 90_000)
      expect(scaled.code, scaled.stdout + scaled.stderr).toBe(0)
      expect(scaled.stdout).toContain(`revision 2 keeps standing by at weight 0 until ${kept!.until}`)
      expect((await containerNames()).filter((c) => green.includes(c))).toEqual(green)
      expect(await standby()).toEqual(kept)
    }

    const back = await underLoad(['rollback', app])
    expect(back.res.code, back.res.stdout + back.res.stderr).toBe(0)
    expect(back.failed).toEqual([])
    expect(back.after).toEqual(['green'])
    // Nothing started: the same green containers, teal drained and gone; no standby left.
    expect(await containerIds()).toEqual(greenIds)
    expect(await weights()).toEqual(Object.fromEntries(green.map((n) => [n, 100])))
    expect(await standby()).toBeUndefined()
  }, 300_000)

  it('a short keepOld expires; forrest tidy retires the standby, and a second tidy is a no-op', async () => {
    const green = await containerNames()
    const deploy = await forrest(['deploy', blueGreen('violet', { keepOld: '3s' })], env, 120_000)
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0)
    const violet = (await containerNames()).filter((n) => !green.includes(n))
    expect(violet).toHaveLength(3)
    const s = await untilExpired()
    expect(s).toMatchObject({ instances: green, expired: true })
    const text = await forrest(['status', app], env)
    expect(text.stdout).toMatch(new RegExp(`its keepOld expired at \\d\\d:\\d\\d UTC \\(\\d+s ago\\): forrest tidy ${app} retires it`))

    const tidy = await forrest(['tidy'], env, 120_000)
    expect(tidy.code, tidy.stdout + tidy.stderr).toBe(0)
    expect(tidy.stdout).toContain(`${app}: retired revision ${s!.revision} (stood by at weight 0 until ${s!.until}): drained and stopped ${green.join(', ')}`)
    expect(await containerNames()).toEqual(violet)
    expect(await weights()).toEqual(Object.fromEntries(violet.map((n) => [n, 100])))
    expect(await standby()).toBeUndefined()

    const again = await forrest(['tidy', app, '--json'], env, 60_000)
    expect(again.code, again.stdout + again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toEqual({ apps: [], retired: 0 })
    const plain = await forrest(['tidy'], env, 60_000)
    expect(plain.code, plain.stdout + plain.stderr).toBe(0)
    expect(plain.stdout).toContain('nothing to tidy: no blue/green standby has expired; nothing was changed')
    expect(await containerNames()).toEqual(violet)
  }, 200_000)

  it('after the deadline, rollback still switches back starting nothing while the old colour runs, and a scale or a repair retires it', async () => {
    const violet = await containerNames()
    const violetIds = await containerIds()
    const amber = await forrest(['deploy', blueGreen('amber', { keepOld: '2s' })], env, 120_000)
    expect(amber.code, amber.stdout + amber.stderr).toBe(0)
    expect(await untilExpired()).toMatchObject({ instances: violet, expired: true })
    const back = await underLoad(['rollback', app])
    expect(back.res.code, back.res.stdout + back.res.stderr).toBe(0)
    expect(back.failed).toEqual([])
    expect(back.after).toEqual(['violet'])
    expect(await containerIds()).toEqual(violetIds)

    const ruby = await forrest(['deploy', blueGreen('ruby', { keepOld: '2s' })], env, 120_000)
    expect(ruby.code, ruby.stdout + ruby.stderr).toBe(0)
    const rubyNames = (await containerNames()).filter((n) => !violet.includes(n))
    expect(await untilExpired()).toMatchObject({ instances: violet, expired: true })
    const scaled = await underLoad(['scale', app, '3'])
    expect(scaled.res.code, scaled.res.stdout + scaled.res.stderr).toBe(0)
    expect(scaled.failed).toEqual([])
    expect(await containerNames()).toEqual(rubyNames)
    expect(await standby()).toBeUndefined()

    // A repair (the same file again) after the deadline retires it too, with no switch: the serving colour stays at 100.
    const jadeFile = blueGreen('jade', { keepOld: '2s' })
    const jade = await forrest(['deploy', jadeFile], env, 120_000)
    expect(jade.code, jade.stdout + jade.stderr).toBe(0)
    const jadeNames = (await containerNames()).filter((n) => !rubyNames.includes(n))
    expect(await untilExpired()).toMatchObject({ instances: rubyNames, expired: true })
    const repair = await underLoad(['deploy', jadeFile])
    expect(repair.res.code, repair.res.stdout + repair.res.stderr).toBe(0)
    expect(repair.res.stdout).not.toMatch(/switched all traffic/)
    expect(repair.failed).toEqual([])
    expect(await containerNames()).toEqual(jadeNames)
    expect(await weights()).toEqual(Object.fromEntries(jadeNames.map((n) => [n, 100])))
    expect(await standby()).toBeUndefined()
  }, 240_000)
})
