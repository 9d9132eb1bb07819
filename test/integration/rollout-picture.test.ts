import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import type { StepReport } from '../../src/engine/types.js'
import { forrest, removeByLabel, testRun } from '../helpers/cli.js'
import { startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { startGatewayCli, type GatewayCli } from '../helpers/gateway-cli.js'
import { startHaproxy, type TestHaproxy } from '../helpers/haproxy.js'
import { specFile } from '../helpers/spec-file.js'

/**
 * The per-step phase times in a deploy's --json result, and the picture drawn from them.
 * FORREST_PICTURE=docs/rollout.svg also keeps the picture of the v1 → v2 rollout (the README's).
 */
const run = testRun('picture')
const app = `p${run.id.slice(-6)}`
let etcd: TestEtcd
let haproxy: TestHaproxy
let gateway: GatewayCli
let env: NodeJS.ProcessEnv
let dir: string

const fast = { name: app, replicas: 3, 'health.interval': '100ms', 'health.deadline': '5s', 'update.stopGracePeriod': '5s' }

beforeAll(async () => {
  ;[etcd, haproxy] = await Promise.all([startEtcd(), startHaproxy()])
  env = run.env(etcd.endpoint)
  gateway = await startGatewayCli({ socket: haproxy.socket, env, id: `gw-${run.id}` })
  dir = await mkdtemp(join(tmpdir(), 'forrest-picture-'))
}, 40_000)

afterAll(async () => {
  await gateway?.stop()
  await removeByLabel(run.label)
  await Promise.all([haproxy?.stop(), etcd?.stop()])
  if (dir) await rm(dir, { recursive: true, force: true })
})

const phases = (s: StepReport) => s.events.map((e) => e.phase)

describe('rollout timeline and picture', () => {
  it('every step carries when its instance reached each phase, and --svg draws them', async () => {
    const first = await forrest(['deploy', specFile(`${app}-v1`, { ...fast, image: 'demo/myapp:1' })], env)
    expect(first.code, first.stderr).toBe(0)
    const svgFile = join(dir, 'rollout.svg')
    const res = await forrest(['deploy', specFile(`${app}-v2`, { ...fast, image: 'demo/myapp:2' }), '--json', '--svg', svgFile], env)
    expect(res.code, res.stderr).toBe(0)
    const result = JSON.parse(res.stdout) as { timings: { steps: StepReport[] } }
    const steps = result.timings.steps
    expect(steps.filter((s) => s.kind === 'start')).toHaveLength(3)
    expect(steps.filter((s) => s.kind === 'retire')).toHaveLength(3)
    for (const s of steps) {
      expect(phases(s), s.instance).toEqual(s.kind === 'start' ? ['started', 'healthy', 'announced', 'acked'] : ['withdrawn', 'drained', 'stopped'])
      const times = [s.at, ...s.events.map((e) => e.at)]
      expect(times, s.instance).toEqual([...times].sort((a, b) => a - b))
    }
    // maxSurge 1, start-first: each old instance is withdrawn only after its replacement was acked.
    const starts = steps.filter((s) => s.kind === 'start').sort((a, b) => a.at - b.at)
    const retires = steps.filter((s) => s.kind === 'retire').sort((a, b) => a.at - b.at)
    retires.forEach((r, i) => expect(r.events[0]!.at).toBeGreaterThanOrEqual(starts[i]!.events.at(-1)!.at))

    const svg = await readFile(svgFile, 'utf8')
    for (const s of steps) expect(svg).toContain(`>${s.instance} <tspan`)
    // `forrest render` of the saved result draws the very same picture.
    const jsonFile = join(dir, 'deploy.json')
    await writeFile(jsonFile, res.stdout)
    const rendered = await forrest(['render', jsonFile, '--svg', join(dir, 'again.svg')], env)
    expect(rendered.code, rendered.stderr).toBe(0)
    expect(await readFile(join(dir, 'again.svg'), 'utf8')).toBe(svg)
    if (process.env.FORREST_PICTURE) await copyFile(svgFile, process.env.FORREST_PICTURE)
  })

  it('a failed deploy still gets its picture, the failed instance in red', async () => {
    const svgFile = join(dir, 'failed.svg')
    const res = await forrest(['deploy', specFile(`${app}-bad`, { ...fast, image: 'demo/myapp:bad', 'health.deadline': '1s' }), '--json', '--svg', svgFile], env)
    expect(res.code, res.stdout).toBe(EXIT.rolledBack)
    const failed = (JSON.parse(res.stdout).error.detail.timings.steps as StepReport[]).find((s) => !s.ok)!
    expect(phases(failed)).toEqual(['started', 'stopped'])
    expect(await readFile(svgFile, 'utf8')).toContain(`fill="#cf1124">${failed.instance}`)
  })
})
