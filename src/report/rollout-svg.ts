import { ForrestError } from '../errors.js'
import type { StepReport } from '../engine/types.js'
import type { RolloutResult } from '../engine/types.js'

/** What the picture needs from a deploy's `--json` result. */
export type RolloutTimeline = Pick<RolloutResult, 'app' | 'outcome' | 'revision' | 'fromRevision'> & { timings: { totalMs: number; steps: StepReport[] } }

/**
 * A deploy's `--json` output as a timeline: the result itself, or, for a failed deploy, the
 * `{"ok": false, "error": {"detail": …}}` it prints instead. Results from before steps carried
 * their phase times cannot be drawn.
 */
export function timelineFromJson(text: string, file = 'input'): RolloutTimeline {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ForrestError('BAD_INPUT', `${file} is not JSON: ${(err as Error).message}`, { suggestion: 'Give the output of `forrest deploy FILE --json`.' })
  }
  const r = ((json as { error?: { detail?: unknown } })?.error?.detail ?? json) as Partial<RolloutTimeline>
  if (typeof r?.app !== 'string' || !Array.isArray(r.timings?.steps)) {
    throw new ForrestError('BAD_INPUT', `${file} is not a rollout result (no app or timings.steps)`, { suggestion: 'Give the output of `forrest deploy FILE --json` (or scale/rollback --json).' })
  }
  if (r.timings.steps.some((s) => typeof s.at !== 'number' || !Array.isArray(s.events))) {
    throw new ForrestError('BAD_INPUT', `${file} has steps without phase times (made by an older forrest)`, { suggestion: 'Deploy with this version of forrest to get a result that can be drawn.' })
  }
  return r as RolloutTimeline
}

type Segment = 'launch' | 'health' | 'announce' | 'ack' | 'standby' | 'serving' | 'drain' | 'stop' | 'failed'

const COLORS: Record<Segment, string> = {
  launch: '#9aa5b1',
  health: '#f0b429',
  announce: '#47a3f3',
  ack: '#1f5fa8',
  standby: '#c6f7e2',
  serving: '#3ebd93',
  drain: '#de911d',
  stop: '#7b8794',
  failed: '#e12d39',
}
const LEGEND: Array<[Segment, string]> = [
  ['launch', 'create+start'],
  ['health', 'health check'],
  ['announce', 'announce'],
  ['ack', 'gateway ack'],
  ['standby', 'weight 0'],
  ['serving', 'serving'],
  ['drain', 'draining'],
  ['stop', 'stopping'],
  ['failed', 'failed'],
]

const LANE = 24
const BAR = 14
const TOP = 78
const PLOT_W = 720
const CHAR_W = 7.3

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const secs = (ms: number, step: number) => `${(ms / 1000).toFixed(step < 100 ? 2 : step < 1000 ? 1 : 0)}s`

/** A round tick spacing (1, 2 or 5 × 10^k ms) giving at most about 8 ticks. */
export function tickStep(spanMs: number): number {
  const raw = Math.max(spanMs, 1) / 8
  const pow = 10 ** Math.floor(Math.log10(raw))
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!
}

const START_PHASES = new Set(['started', 'healthy', 'announced', 'acked'])

/** The bars of one lane, as [from, to, segment] in epoch ms. */
export function segmentsOf(step: StepReport, t0: number, tEnd: number): Array<[number, number, Segment]> {
  const at = (p: string) => step.events.find((e) => e.phase === p)?.at
  const end = step.at + step.ms
  const out: Array<[number, number, Segment]> = []
  const add = (from: number | undefined, to: number | undefined, seg: Segment) => {
    if (from !== undefined && to !== undefined && to > from) out.push([from, to, seg])
  }
  let last: number
  if (step.kind === 'retire') {
    const withdrawn = at('withdrawn')
    const drained = at('drained') ?? withdrawn
    add(t0, withdrawn ?? step.at, 'serving')
    add(withdrawn, drained, 'drain')
    // A worker is never withdrawn or drained: its stop begins with the step.
    add(drained ?? (step.process ? step.at : undefined), at('stopped') ?? (step.ok ? end : undefined), 'stop')
    last = at('stopped') ?? drained ?? step.at
  } else {
    const started = at('started') ?? step.at
    const healthy = at('healthy')
    const announced = at('announced')
    const acked = at('acked')
    const switched = at('switched')
    add(step.at, at('started'), 'launch')
    add(started, healthy, 'health')
    add(healthy, announced, 'announce')
    add(announced, acked, 'ack')
    // Blue/green: checked at weight 0 until the switch, then serving. A worker is never announced: it is at work once healthy.
    if (switched !== undefined) add(acked ?? announced, switched, 'standby')
    if (step.ok) add(switched ?? acked ?? announced ?? (step.process ? healthy : undefined), tEnd, 'serving')
    // An undone start's withdrawal and removal are ticks on its failed bar, which runs from where it got to.
    last = Math.max(...step.events.filter((e) => START_PHASES.has(e.phase)).map((e) => e.at), step.at)
  }
  if (!step.ok) add(Math.min(last, end), Math.max(end, last), 'failed')
  return out
}

/**
 * One lane per instance, left to right in time: a new instance's launch, health check, announce
 * and gateway acknowledgement, then serving; an old one serving until it is withdrawn, then
 * draining and stopping. Each phase is a tick with its time on hover. Pure: same input, same SVG.
 */
export function renderRolloutSvg(r: RolloutTimeline): string {
  const steps = [...r.timings.steps].sort((a, b) => a.at - b.at || (a.kind === 'retire' ? 1 : 0) - (b.kind === 'retire' ? 1 : 0))
  const times = steps.flatMap((s) => [s.at, s.at + s.ms, ...s.events.map((e) => e.at)])
  const t0 = times.length ? Math.min(...times) : 0
  const tEnd = times.length ? Math.max(...times) : 1
  const span = Math.max(tEnd - t0, 1)
  // Lanes are named host/instance once the rollout spans several hosts.
  const manyHosts = new Set(steps.map((s) => s.host)).size > 1
  const laneName = (s: StepReport) => (manyHosts && s.host ? `${s.host}/${s.instance}` : s.instance)
  // A worker's lane says so (it is never announced): "worker" after the revision.
  const processTag = (s: StepReport) => (s.process ? ` ${s.process}` : '')
  const labelW = Math.ceil(16 + CHAR_W * Math.max(12, ...steps.map((s) => laneName(s).length + 4 + processTag(s).length)))
  const width = labelW + PLOT_W + 24
  const height = TOP + Math.max(steps.length, 1) * LANE + 16
  const x = (t: number) => (labelW + ((t - t0) / span) * PLOT_W).toFixed(1)
  const w = (a: number, b: number) => Math.max(((b - a) / span) * PLOT_W, 0.8).toFixed(1)
  const step = tickStep(span)

  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" font-size="12">`)
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  const from = r.fromRevision === undefined ? '' : `revision ${r.fromRevision} → `
  out.push(`<text x="12" y="20" font-size="14" font-weight="bold">${esc(`${r.app}: ${from}revision ${r.revision}, ${r.outcome} in ${(r.timings.totalMs / 1000).toFixed(2)}s (${steps.length} step${steps.length === 1 ? '' : 's'})`)}</text>`)
  let lx = 12
  // The weight-0 colour only in a blue/green picture.
  const switchedAt = steps.flatMap((s) => s.events.filter((e) => e.phase === 'switched').map((e) => e.at))
  for (const [seg, label] of LEGEND.filter(([seg]) => seg !== 'standby' || switchedAt.length > 0)) {
    out.push(`<rect x="${lx.toFixed(1)}" y="32" width="12" height="12" fill="${COLORS[seg]}"/><text x="${(lx + 16).toFixed(1)}" y="42">${esc(label)}</text>`)
    lx += 16 + 14 + CHAR_W * label.length
  }
  for (let t = 0; t <= span; t += step) {
    const tx = x(t0 + t)
    out.push(`<line x1="${tx}" y1="${TOP - 8}" x2="${tx}" y2="${height - 12}" stroke="#e4e7eb"/><text x="${tx}" y="${TOP - 12}" text-anchor="middle" fill="#52606d">${secs(t, step)}</text>`)
  }
  if (switchedAt.length) {
    const sx = x(Math.min(...switchedAt))
    out.push(`<line x1="${sx}" y1="${TOP - 8}" x2="${sx}" y2="${height - 12}" stroke="#0c6b58" stroke-width="1.5" stroke-dasharray="4 3"/><text x="${sx}" y="${TOP - 24}" text-anchor="middle" fill="#0c6b58">traffic switch</text>`)
  }
  if (!steps.length) out.push(`<text x="${labelW}" y="${TOP + 16}" fill="#52606d">no steps: nothing was changed (${esc(r.outcome)})</text>`)
  steps.forEach((s, i) => {
    const y = TOP + i * LANE
    const by = y + (LANE - BAR) / 2
    const tip = `${s.kind} ${s.instance}${s.host ? ` on ${s.host}` : ''}${s.revision === undefined ? '' : ` (revision ${s.revision})`}${s.process ? ` (${s.process}, not announced)` : ''}: ${s.ok ? '' : 'FAILED: '}${s.detail}`
    out.push(`<g><title>${esc(tip)}</title>`)
    out.push(`<text x="12" y="${y + 16}"${s.ok ? '' : ' fill="#cf1124"'}>${esc(laneName(s))}${s.revision === undefined ? '' : ` <tspan fill="#7b8794">r${s.revision}</tspan>`}${s.process ? ` <tspan fill="#7b8794">${esc(s.process)}</tspan>` : ''}</text>`)
    for (const [a, b, seg] of segmentsOf(s, t0, tEnd)) out.push(`<rect x="${x(a)}" y="${by}" width="${w(a, b)}" height="${BAR}" fill="${COLORS[seg]}"/>`)
    for (const e of s.events) {
      out.push(`<line x1="${x(e.at)}" y1="${by - 2}" x2="${x(e.at)}" y2="${by + BAR + 2}" stroke="#1f2933" stroke-width="1.2"><title>${esc(`${s.instance} ${e.phase} at +${((e.at - t0) / 1000).toFixed(3)}s`)}</title></line>`)
    }
    out.push('</g>')
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
