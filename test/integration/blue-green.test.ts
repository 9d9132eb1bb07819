/**
 * Blue/green (update.strategy: blue-green): real etcd, HAProxy, `forrest gateway` and Docker,
 * requests flowing through HAProxy the whole time. The whole new revision starts beside the old
 * one at weight 0, all traffic switches in one step acknowledged by the gateway, the old revision
 * keeps running at 0; `forrest rollback` switches back in one step without starting anything.
 * Zero failed requests through both switches. A file without room for two revisions is refused
 * before anything starts.
 */
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { containersWithLabel, docker, forrest, testRun } from '../helpers/cli.js'
import type { TestHaproxy } from '../helpers/haproxy.js'
import { startLoad, type LoadSample } from '../helpers/load.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('weights-bg')
const app = `weights-bg-${run.id.slice(-6)}`
const base = { name: app, replicas: 3, image: 'demo/myapp:cgi', 'health.interval': '100ms', 'health.deadline': '10s', 'update.stopGracePeriod': '1s', 'update.drain': '1s' }

describe('blue/green through HAProxy + forrest gateway (real etcd, HAProxy, Docker)', () => {
  let haproxy: TestHaproxy
  let stack: LbStack
  let env: NodeJS.ProcessEnv

  /** instance name → HAProxy weight */
  const weights = async () => Object.fromEntries((await haproxy.runtime.servers('app')).map((s) => [s.name, s.weight]).sort())
  const containerNames = async () => (await Promise.all((await containersWithLabel(run.label)).map((id) => docker('inspect', '-f', '{{.Name}}', id)))).map((n) => n.replace(/^\//, '')).sort()

  beforeAll(async () => {
    stack = await startLbStack(run)
    ;({ haproxy, env } = stack)
    const first = await forrest(['deploy', specFile(`${app}-blue`, { ...base, env: { RELEASE: 'blue' } })], env, 90_000)
    expect(first.code, first.stdout + first.stderr).toBe(0)
  }, 120_000)

  afterAll(async () => {
    await stack?.stop()
  }, 60_000)

  /** Runs `args` under load; the samples sent while it ran and the ones after it returned. */
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
    console.info(`[blue-green] ${args.join(' ')}: exit ${res.code} in ${t1 - t0} ms; ${during.length} requests, ${failed.length} failed ${JSON.stringify(failed.slice(0, 3))}; bodies during ${JSON.stringify(bodies(during))}, after ${JSON.stringify(bodies(after))}`)
    return { res, failed, during, after, bodies }
  }

  it('switches all traffic to the new revision in one step and keeps the old one at weight 0; rollback switches back without starting anything; 0 failed requests', async () => {
    const blue = await containerNames()
    const deploy = await underLoad(['deploy', '--json', specFile(`${app}-green`, { ...base, env: { RELEASE: 'green' }, 'update.strategy': 'blue-green' })])
    expect(deploy.res.code, deploy.res.stdout + deploy.res.stderr).toBe(0)
    expect(deploy.failed).toEqual([])
    expect(deploy.bodies(deploy.after)).toEqual(['green'])
    const w = await weights()
    const green = Object.keys(w).filter((n) => !blue.includes(n))
    expect(green).toHaveLength(3)
    // Both colours in HAProxy: green at the default weight, blue running and checked at 0.
    expect(w).toEqual(Object.fromEntries([...blue.map((n) => [n, 0]), ...green.map((n) => [n, 100])].sort()))
    expect(await containerNames()).toEqual([...blue, ...green].sort())
    const result = JSON.parse(deploy.res.stdout) as { timings: { steps: Array<{ kind: string; events: Array<{ phase: string }> }> } }
    expect(JSON.stringify(result)).toMatch(/blue\/green: start 3 instances of revision 2 beside the 3 of revision 1 at weight 0/)
    // The picture shows the switch: every new instance has a `switched` phase, and render draws it.
    expect(result.timings.steps.filter((s) => s.kind === 'start').map((s) => s.events.some((e) => e.phase === 'switched'))).toEqual([true, true, true])
    const file = join(tmpdir(), `${app}-bg.json`)
    writeFileSync(file, deploy.res.stdout)
    const svg = await forrest(['render', file], env)
    expect(svg.code).toBe(0)
    expect(svg.stdout).toContain('>traffic switch</text>')

    // status: converged, green serves, blue stands by at weight 0 (exit 0, not drift).
    const status = await forrest(['status', app, '--json'], env)
    expect(status.code, status.stdout + status.stderr).toBe(0)
    expect((JSON.parse(status.stdout) as { apps: Array<{ standby?: { revision: number; instances: string[] } }> }).apps[0]?.standby).toEqual({ revision: 1, instances: blue })
    expect((await forrest(['status', app], env)).stdout).toContain(`blue/green: revision 2 serves; revision 1 stands by at weight 0 (${blue.join(', ')}): forrest rollback ${app} switches back in one step`)

    const back = await underLoad(['rollback', app, '--json'])
    expect(back.res.code, back.res.stdout + back.res.stderr).toBe(0)
    expect(back.failed).toEqual([])
    expect(back.bodies(back.after)).toEqual(['blue'])
    // Nothing started: the blue containers are the ones that ran before; green is drained and gone.
    expect(await containerNames()).toEqual(blue)
    expect(await weights()).toEqual(Object.fromEntries(blue.map((n) => [n, 100])))
  }, 200_000)

  it('with blueGreen.pause holds before the switch (exit 19, the new revision at weight 0); promote switches; 0 failed requests', async () => {
    const blue = await containerNames()
    const held = await underLoad(['deploy', specFile(`${app}-teal`, { ...base, env: { RELEASE: 'teal' }, 'update.strategy': 'blue-green', 'update.blueGreen': { pause: true } })])
    expect(held.res.code, held.res.stdout + held.res.stderr).toBe(EXIT.waitingForPromotion)
    expect(held.res.stdout + held.res.stderr).toMatch(/the whole revision serves at weight 0 beside the old one; the rollout holds before the switch/)
    expect(held.failed).toEqual([])
    expect(held.bodies(held.after)).toEqual(['blue'])
    const teal = (await containerNames()).filter((n) => !blue.includes(n))
    expect(teal).toHaveLength(3)
    expect(await weights()).toEqual(Object.fromEntries([...blue.map((n) => [n, 100]), ...teal.map((n) => [n, 0])].sort()))

    const promoted = await underLoad(['promote', app])
    expect(promoted.res.code, promoted.res.stdout + promoted.res.stderr).toBe(0)
    expect(promoted.failed).toEqual([])
    expect(promoted.bodies(promoted.after)).toEqual(['teal'])
    expect(await containerNames()).toEqual(teal)
    expect(await weights()).toEqual(Object.fromEntries(teal.map((n) => [n, 100])))
  }, 200_000)

  it('refuses a blue/green deploy without room for two revisions before anything starts (exit 2)', async () => {
    const before = await containerNames()
    const res = await forrest(['deploy', specFile(`${app}-narrow`, { ...base, env: { RELEASE: 'narrow' }, 'update.strategy': 'blue-green', hostPorts: '24000-24004' })], env, 60_000)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.badInput)
    expect(res.stderr + res.stdout).toMatch(/blue-green needs room for two full revisions, and nothing was started/)
    expect(res.stderr + res.stdout).toMatch(/would run 6 instances \(both revisions\) but hostPorts 24000-24004 has 5 ports: widen hostPorts/)
    expect(await containerNames()).toEqual(before)
  }, 90_000)
})
