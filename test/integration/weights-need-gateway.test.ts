/**
 * Weights need a gateway to apply and acknowledge them: a deploy whose plan uses weights
 * (update.strategy: blue-green, a canary by traffic share) on a prefix no `forrest gateway`
 * watches is refused before anything starts (release command included), exit 11, naming the
 * prefix, why and the fix. Real etcd and dockerd; no gateway at all. And a blue/green standby
 * whose gateway has gone is still named by `forrest status` (from forrest's weight records),
 * never an old revision whose hint ("deploy the file again") would retire it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('wng')
const app = `wng-${run.id.slice(-6)}`
const base = { name: app, replicas: 2, image: 'demo/myapp:cgi', 'health.interval': '100ms', 'health.deadline': '10s', 'update.drain': '100ms', 'update.stopGracePeriod': '1s' }
let etcd: TestEtcd
let env: NodeJS.ProcessEnv

/** The app's containers as "name state", sorted. */
const containers = async () =>
  (await docker('ps', '-a', '--filter', `label=forrest.app=${app}`, '--filter', `label=${run.label}`, '--format', '{{.Names}} {{.State}}')).split('\n').filter(Boolean).sort()

beforeAll(async () => {
  etcd = await startEtcd()
  env = run.env(etcd.endpoint)
  const first = await forrest(['deploy', specFile(`${app}-1`, { ...base, env: { RELEASE: 'one' } })], env)
  expect(first.code, first.stdout + first.stderr).toBe(0)
}, 120_000)

afterAll(async () => {
  await removeByLabel(run.label)
  await etcd?.stop()
})

describe('weights with no gateway to apply them (real etcd, Docker, no gateway)', () => {
  it.each([
    ['blue/green', { 'update.strategy': 'blue-green' }, /update\.strategy: blue-green/],
    ['a canary by traffic share', { 'update.canary': { count: 1, traffic: '10%', window: '1s', minRequests: 0 } }, /update\.canary\.traffic/],
  ])('%s on a prefix no gateway watches: refused before anything starts, the release command included (exit 11)', async (_what, changes, names) => {
    const before = await containers()
    // A release command that would fail (exit 20) if it ran: exit 11 says it never did.
    const file = specFile(`${app}-2-${_what.length}`, { ...base, env: { RELEASE: 'two' }, release: { command: ['sh', '-c', 'exit 3'] }, ...changes })
    const res = await forrest(['deploy', file], env)
    const out = res.stdout + res.stderr
    expect(res.code, out).toBe(EXIT.gatewaysMissing)
    expect(out).toMatch(/GATEWAYS_MISSING/)
    expect(out).toContain(`/test/${run.id}/`)
    expect(out).toMatch(names)
    expect(out).toMatch(/no live forrest gateway/)
    expect(out).toMatch(/nothing was changed/)
    expect(out).toMatch(/forrest gateway --prefix test\/[^ ]+/)
    expect(out).toMatch(/strategy: rolling|canary by count/)
    expect(await containers()).toEqual(before)
    const status = await forrest(['status', app, '--json'], env)
    expect(status.code, status.stdout + status.stderr).toBe(0)
    expect((JSON.parse(status.stdout) as { apps: Array<{ revision: number }> }).apps[0]!.revision).toBe(1)
  }, 120_000)

  it('a count canary and a rolling deploy still need no gateway (exit 0)', async () => {
    const res = await forrest(['deploy', specFile(`${app}-3`, { ...base, env: { RELEASE: 'three' }, 'update.canary': { count: 1, window: '1s', minRequests: 0 } })], env)
    expect(res.code, res.stdout + res.stderr).toBe(0)
  }, 120_000)
})

describe('a blue/green standby that outlives its gateway (real etcd, HAProxy, gateway, Docker)', () => {
  const bgRun = testRun('wng-sb')
  const bgApp = `wng-sb-${bgRun.id.slice(-6)}`
  let stack: LbStack

  afterAll(async () => {
    await stack?.stop()
  }, 60_000)

  it('status names the standby from forrest weight records once no gateway acks (exit 0, no old-revision drift)', async () => {
    stack = await startLbStack(bgRun)
    const spec = { ...base, name: bgApp }
    const blue = await forrest(['deploy', specFile(`${bgApp}-blue`, { ...spec, env: { RELEASE: 'blue' } })], stack.env)
    expect(blue.code, blue.stdout + blue.stderr).toBe(0)
    const green = await forrest(['deploy', specFile(`${bgApp}-green`, { ...spec, env: { RELEASE: 'green' }, 'update.strategy': 'blue-green' })], stack.env)
    expect(green.code, green.stdout + green.stderr).toBe(0)
    await stack.gateway.stop()
    type Status = { apps: Array<{ gateways: unknown[]; standby?: { revision: number; instances: string[]; weightFrom?: string }; drift: Array<{ message: string }>; instances: Array<{ name: string; revision: number; recordedWeight?: number }> }> }
    // Exit 10 prints the status as the error's "detail".
    const report = (out: string): Status => {
      const j = JSON.parse(out) as Status & { detail?: Status; error?: { detail?: Status } }
      return j.apps ? j : (j.detail ?? j.error?.detail)!
    }
    let last = { code: -1, stdout: '', stderr: '' }
    await pollUntil(async () => {
      last = await forrest(['status', bgApp, '--json'], stack.env)
      return report(last.stdout)?.apps[0]?.gateways.length === 0
    }, { timeoutMs: 20_000, what: 'the stopped gateway gone from status' })
    const a = report(last.stdout).apps[0]!
    expect(a.drift).toEqual([])
    expect(last.code, last.stdout + last.stderr).toBe(0)
    const standing = a.instances.filter((i) => i.revision === 1).map((i) => i.name).sort()
    expect(standing).toHaveLength(2)
    expect(a.standby).toMatchObject({ revision: 1, weightFrom: 'records' })
    expect(a.standby!.instances.sort()).toEqual(standing)
    expect(a.instances.filter((i) => i.revision === 1).map((i) => i.recordedWeight)).toEqual([0, 0])
    const plain = await forrest(['status', bgApp], stack.env)
    expect(plain.code, plain.stdout + plain.stderr).toBe(0)
    expect(plain.stdout).toMatch(/revision 1 stands by at weight 0 \([^)]+\) in forrest's weight records/)
    expect(plain.stdout).not.toMatch(/deploy the file again/i)
  }, 180_000)
})
