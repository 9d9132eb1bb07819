/**
 * No waves as barriers (#30): a rollout's steps begin as soon as the bounds allow, so the next
 * start overlaps the retire before it (in waves it waited for that retire's drain), and the
 * picture (`forrest render`) draws them side by side. Real etcd and dockerd; no gateway (drain timer).
 */
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forrest, removeByLabel, testRun } from '../helpers/cli.js'
import { startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('speed-flow')
const fast = { replicas: 3, 'health.interval': '100ms', 'health.deadline': '10s', 'update.drain': '300ms', 'update.stopGracePeriod': '1s' }
let etcd: TestEtcd
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  etcd = await startEtcd()
  env = run.env(etcd.endpoint)
})

afterAll(async () => {
  await removeByLabel(run.label)
  await etcd?.stop()
})

interface Step { kind: string; instance: string; at: number; ms: number; events: Array<{ phase: string; at: number }> }

describe('flow', () => {
  it('a serial update begins each next start while the retire before it drains, and render draws the overlap', async () => {
    const app = `speed-flow${run.id.slice(-4)}`
    const v1 = await forrest(['deploy', specFile(`${app}-1`, { ...fast, name: app, image: 'demo/myapp:1' })], env)
    expect(v1.code, v1.stdout + v1.stderr).toBe(0)
    const res = await forrest(['deploy', '--json', specFile(`${app}-2`, { ...fast, name: app, image: 'demo/myapp:2' })], env)
    expect(res.code, res.stdout + res.stderr).toBe(0)
    const steps: Step[] = JSON.parse(res.stdout).timings.steps
    const starts = steps.filter((s) => s.kind === 'start').sort((a, b) => a.at - b.at)
    const retires = steps.filter((s) => s.kind === 'retire').sort((a, b) => a.at - b.at)
    expect(starts).toHaveLength(3)
    expect(retires).toHaveLength(3)
    for (let k = 0; k < 2; k++) {
      const drained = retires[k]!.events.find((e) => e.phase === 'drained')!.at
      // the next start began before the retire it follows had drained (300 ms): they overlap
      expect(starts[k + 1]!.at, `start ${k + 2} vs retire ${k + 1}`).toBeLessThan(drained)
      // and never before the start the retire waits for had finished (the floor: 3 serving)
      expect(retires[k]!.at).toBeGreaterThanOrEqual(starts[k]!.at + starts[k]!.ms)
    }
    const file = join(tmpdir(), `${app}.json`)
    writeFileSync(file, res.stdout)
    const svg = await forrest(['render', file, '--svg', join(tmpdir(), `${app}.svg`)], env)
    expect(svg.code, svg.stdout + svg.stderr).toBe(0)
  })
})
