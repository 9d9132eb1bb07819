// Where the time goes per instance (#30), from deploys' --json results: node bench/phases.mjs FILE.json...
// Files are grouped by name: "deploy-30-s1-i200-2.json" → s1-i200, "before-h1-2.json" (hosts.sh) → before-h1.
// Start step: launch (step begins → container started: create + start + inspect, or only start +
// inspect when created ahead), first passing check, announce → the gateways' ack. Created ahead:
// how long its docker create took, off the step's path. Retire step: withdraw (etcd), drain (the
// gateways' ack, or the drain timer), stop + rm. Milliseconds, median (p90) over every step.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

const median = (xs) => {
  if (!xs.length) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))]
const cell = (xs) => (xs.length ? `${Math.round(median(xs))} (${Math.round(p90(xs))})` : '-')
const groups = new Map()
for (const file of process.argv.slice(2)) {
  let j
  try {
    j = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    continue // a glob that matched nothing, or a failed deploy
  }
  const name = basename(file, '.json').replace(/^deploy-\d+-/, '').replace(/-\d+$/, '')
  const g = groups.get(name) ?? { deploys: 0, totalMs: [], launch: [], ahead: [], check: [], ack: [], start: [], withdraw: [], drain: [], stop: [] }
  g.deploys++
  g.totalMs.push(j.timings?.totalMs)
  for (const s of j.timings?.steps ?? []) {
    const at = Object.fromEntries((s.events ?? []).map((e) => [e.phase, e.at]))
    if (s.kind === 'start') {
      if (at.started) g.launch.push(at.started - s.at)
      const m = /created ahead in (\d+)ms/.exec(s.detail ?? '')
      if (m) g.ahead.push(Number(m[1]))
      if (at.started && at.healthy) g.check.push(at.healthy - at.started)
      if (at.healthy && (at.acked ?? at.announced)) g.ack.push((at.acked ?? at.announced) - at.healthy)
      g.start.push(s.ms)
    } else if (s.kind === 'retire') {
      if (at.withdrawn) g.withdraw.push(at.withdrawn - s.at)
      if (at.withdrawn && at.drained) g.drain.push(at.drained - at.withdrawn)
      if (at.stopped && (at.drained ?? at.withdrawn)) g.stop.push(at.stopped - (at.drained ?? at.withdrawn))
    }
  }
  groups.set(name, g)
}
const cols = ['row', 'deploys', 'launch', 'created ahead', 'first check', 'announce->ack', 'start step', 'withdraw', 'drain ack', 'stop+rm']
const W = [22, 8, 12, 14, 12, 14, 12, 10, 10, 10]
const line = (c) => c.map((x, i) => String(x).padEnd(W[i])).join(' ').trimEnd()
console.log('\nWhere the time goes per instance, ms: median (p90) over every step (launch = step begins -> container started; created ahead = its docker create, off the path)')
console.log(line(cols))
for (const [name, g] of [...groups].sort()) {
  console.log(line([name, g.deploys, cell(g.launch), cell(g.ahead), cell(g.check), cell(g.ack), cell(g.start), cell(g.withdraw), cell(g.drain), cell(g.stop)]))
}
