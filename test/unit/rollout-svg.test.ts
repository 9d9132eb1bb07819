import { describe, expect, it } from 'vitest'
import { renderRolloutSvg, segmentsOf, tickStep, timelineFromJson, type RolloutTimeline } from '../../src/report/rollout-svg.js'
import type { StepReport } from '../../src/engine/types.js'

const T = 1_700_000_000_000
const ev = (...pairs: Array<[StepReport['events'][number]['phase'], number]>) => pairs.map(([phase, ms]) => ({ phase, at: T + ms }))
const start = (instance: string, at: number, events: StepReport['events'], ok = true, ms = 400): StepReport => ({ kind: 'start', instance, revision: 2, ok, ms, detail: ok ? 'healthy in 5ms' : 'never healthy', at: T + at, events })
const retire = (instance: string, at: number, events: StepReport['events']): StepReport => ({ kind: 'retire', instance, revision: 1, ok: true, ms: 60, detail: 'gateways acked in 5ms, stopping', at: T + at, events })

const timeline = (steps: StepReport[]): RolloutTimeline => ({ app: 'myapp', outcome: 'succeeded', revision: 2, fromRevision: 1, timings: { totalMs: 2000, steps } })

const serial = timeline([
  retire('myapp-r1-1', 420, ev(['withdrawn', 425], ['drained', 440], ['stopped', 700])),
  start('myapp-r2-1', 0, ev(['started', 300], ['healthy', 310], ['announced', 320], ['acked', 360])),
  start('myapp-r2-2', 480, ev(['started', 780], ['healthy', 790], ['announced', 800], ['acked', 850])),
  retire('myapp-r1-2', 900, ev(['withdrawn', 905], ['drained', 920], ['stopped', 1150])),
])

describe('rollout SVG', () => {
  it('draws one lane per instance, in the order their steps began', () => {
    const svg = renderRolloutSvg(serial)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    const order = ['myapp-r2-1', 'myapp-r1-1', 'myapp-r2-2', 'myapp-r1-2'].map((n) => svg.indexOf(`>${n} <tspan`))
    expect(order.every((i) => i > 0)).toBe(true)
    expect(order).toEqual([...order].sort((a, b) => a - b))
    expect(svg).toContain('myapp: revision 1 → revision 2, succeeded in 2.00s (4 steps)')
    expect((svg.match(/<g>/g) ?? []).length).toBe(4)
    // Every phase is a tick with its time on hover.
    expect(svg).toContain('<title>myapp-r2-2 acked at +0.850s</title>')
    expect(svg).toContain('<title>myapp-r1-2 stopped at +1.150s</title>')
    expect(renderRolloutSvg(serial)).toBe(svg)
  })

  it('blue/green: a new instance at weight 0 until the switch, then serving; the switch is a line, the weight-0 colour in the legend only then', () => {
    const bg = timeline([
      start('myapp-r2-1', 0, ev(['started', 300], ['healthy', 310], ['announced', 320], ['acked', 360], ['switched', 900])),
      start('myapp-r2-2', 0, ev(['started', 310], ['healthy', 330], ['announced', 340], ['acked', 380], ['switched', 900])),
    ])
    expect(segmentsOf(bg.timings.steps[0]!, T, T + 1200).map(([a, b, s]) => [a - T, b - T, s])).toEqual([
      [0, 300, 'launch'],
      [300, 310, 'health'],
      [310, 320, 'announce'],
      [320, 360, 'ack'],
      [360, 900, 'standby'],
      [900, 1200, 'serving'],
    ])
    const svg = renderRolloutSvg(bg)
    expect(svg).toContain('>traffic switch</text>')
    expect(svg).toContain('>weight 0</text>')
    expect(svg).toContain('<title>myapp-r2-1 switched at +0.900s</title>')
    expect(renderRolloutSvg(serial)).not.toContain('weight 0')
    expect(renderRolloutSvg(serial)).not.toContain('traffic switch')
  })

  it('a new instance: launch, health, announce, ack, then serving to the end', () => {
    const segs = segmentsOf(serial.timings.steps[1]!, T, T + 1150)
    expect(segs.map(([a, b, s]) => [a - T, b - T, s])).toEqual([
      [0, 300, 'launch'],
      [300, 310, 'health'],
      [310, 320, 'announce'],
      [320, 360, 'ack'],
      [360, 1150, 'serving'],
    ])
  })

  it('an old instance: serving until withdrawn, then draining and stopping (a deferred stop ends after its step)', () => {
    const segs = segmentsOf(serial.timings.steps[0]!, T, T + 1150)
    expect(segs.map(([a, b, s]) => [a - T, b - T, s])).toEqual([
      [0, 425, 'serving'],
      [425, 440, 'drain'],
      [440, 700, 'stop'],
    ])
  })

  it('a failed start is red from where it got to, its undo as ticks on it', () => {
    const failed = start('myapp-r2-3', 0, ev(['started', 300], ['withdrawn', 2100], ['stopped', 2200]), false, 2300)
    const segs = segmentsOf(failed, T, T + 2300)
    expect(segs.map(([a, b, s]) => [a - T, b - T, s])).toEqual([
      [0, 300, 'launch'],
      [300, 2300, 'failed'],
    ])
    const svg = renderRolloutSvg({ ...timeline([failed]), outcome: 'rolled-back' })
    expect(svg).toContain('fill="#cf1124">myapp-r2-3')
    expect(svg).toContain('FAILED: never healthy')
  })

  it('names lanes host/instance once the rollout spans several hosts', () => {
    const two = timeline([
      { ...serial.timings.steps[1]!, host: 'h1' },
      { ...serial.timings.steps[2]!, host: 'h2' },
    ])
    const svg = renderRolloutSvg(two)
    expect(svg).toContain('>h1/myapp-r2-1 <tspan')
    expect(svg).toContain('>h2/myapp-r2-2 <tspan')
    expect(svg).toContain('start myapp-r2-1 on h1 (revision 2)')
    // One host only: no prefix.
    expect(renderRolloutSvg(timeline([{ ...serial.timings.steps[1]!, host: 'h1' }]))).toContain('>myapp-r2-1 <tspan')
  })

  it('escapes text and draws an empty rollout', () => {
    const svg = renderRolloutSvg({ app: 'a<b>&"c"', outcome: 'noop', revision: 1, timings: { totalMs: 5, steps: [] } })
    expect(svg).toContain('a&lt;b&gt;&amp;&quot;c&quot;: revision 1, noop')
    expect(svg).toContain('no steps: nothing was changed (noop)')
    expect(svg).not.toMatch(/<b>/)
  })

  it('picks round tick spacings', () => {
    expect(tickStep(4700)).toBe(1000)
    expect(tickStep(1150)).toBe(200)
    expect(tickStep(30_000)).toBe(5000)
    expect(tickStep(0)).toBeGreaterThan(0)
  })
})

describe('timelineFromJson', () => {
  it("reads a deploy's result, or a failed deploy's error detail", () => {
    expect(timelineFromJson(JSON.stringify(serial)).app).toBe('myapp')
    expect(timelineFromJson(JSON.stringify({ ok: false, error: { code: 'ROLLED_BACK', exit: 3, detail: serial } })).timings.steps).toHaveLength(4)
  })

  it('refuses what it cannot draw, as bad input', () => {
    expect(() => timelineFromJson('{nope', 'x.json')).toThrow(/x.json is not JSON/)
    expect(() => timelineFromJson('{"ok": true}', 'x.json')).toThrow(/not a rollout result/)
    const old = { ...serial, timings: { totalMs: 1, steps: [{ kind: 'start', instance: 'a', ok: true, ms: 1, detail: '' }] } }
    expect(() => timelineFromJson(JSON.stringify(old), 'x.json')).toThrow(expect.objectContaining({ code: 'BAD_INPUT', message: expect.stringMatching(/older forrest/) }))
  })
})

describe('rollout SVG of a worker process', () => {
  it('a worker lane says its process; it runs from healthy (no announce) and stops without a drain', () => {
    const workerStart: StepReport = { ...start('myapp-worker-r2-1', 0, ev(['started', 300], ['healthy', 1300])), process: 'worker' }
    const workerRetire: StepReport = { ...retire('myapp-worker-r1-1', 1400, ev(['stopped', 1500])), process: 'worker', detail: 'worker, stopped (grace 2000ms)' }
    const t = timeline([workerStart, workerRetire])
    expect(segmentsOf(workerStart, T, T + 2000).map(([a, b, s]) => [a - T, b - T, s])).toEqual([[0, 300, 'launch'], [300, 1300, 'health'], [1300, 2000, 'serving']])
    expect(segmentsOf(workerRetire, T, T + 2000).map(([a, b, s]) => [a - T, b - T, s])).toEqual([[0, 1400, 'serving'], [1400, 1500, 'stop']])
    const svg = renderRolloutSvg(t)
    expect(svg).toContain('>myapp-worker-r2-1 <tspan fill="#7b8794">r2</tspan> <tspan fill="#7b8794">worker</tspan>')
    expect(svg).toContain('(worker, not announced)')
  })
})
