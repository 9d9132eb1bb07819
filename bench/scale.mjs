// forrest bench, "scale" section: how the pure parts grow with the number of instances.
// Plans and simulates a v1 → v2 replacement (start-first, maxUnavailable 0) at N = 1,000 and
// 10,000 with maxSurge 1 and 25%, then classifies and formats `forrest status` for 150, 1,500
// and 15,000 instances. No Docker, no etcd: it imports the built code (../dist, `npm run build`
// first), so the same script measures any build of forrest (see bench/README.md).
// Env: SCALE_RUNS (3) runs per figure, best (min) printed; a figure whose first run takes over
// SCALE_SLOW_MS (3000) is run once. SCALE_PLAN_N / SCALE_STATUS_N: space-separated sizes.
import { performance } from 'node:perf_hooks'
import { instanceName, planRollout, simulatePlan } from '../dist/plan/index.js'
import { classifyApp } from '../dist/verbs/status-drift.js'
import { formatStatus } from '../dist/report/status-format.js'

const RUNS = Number(process.env.SCALE_RUNS ?? 3)
const SLOW_MS = Number(process.env.SCALE_SLOW_MS ?? 3000)
const sizes = (v, d) => (v ?? d).split(/\s+/).filter(Boolean).map(Number)
const PLAN_N = sizes(process.env.SCALE_PLAN_N, '1000 10000')
const STATUS_N = sizes(process.env.SCALE_STATUS_N, '150 1500 15000')

/** Best of RUNS timings of fn (ms), and its last result. */
function best(fn) {
  let min = Infinity
  let result
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now()
    result = fn()
    const ms = performance.now() - t0
    min = Math.min(min, ms)
    if (ms > SLOW_MS) break
  }
  return { ms: min, result }
}
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`)
const pad = (s, n) => String(s).padStart(n)

console.log(`forrest bench scale: node ${process.version}, best of ${RUNS} (1 run when one takes > ${SLOW_MS} ms)`)
console.log('')
console.log('planner + simulator, v1 → v2 replacement, start-first, maxUnavailable 0')
console.log(`${'N'.padStart(7)} ${'maxSurge'.padStart(9)} ${'waves'.padStart(6)} ${'plan'.padStart(10)} ${'simulate'.padStart(10)} ${'total'.padStart(10)}`)
for (const n of PLAN_N) {
  const observed = {
    app: 'bench',
    currentRevision: 1,
    instances: Array.from({ length: n }, (_, i) => ({ name: instanceName('bench', 1, i + 1), containerId: `c${i + 1}`, revision: 1, running: true, registered: true })),
  }
  for (const [label, surge] of [['1', 1], ['25%', Math.ceil(n / 4)]]) {
    const target = { revision: 2, replicas: n, maxSurge: surge, maxUnavailable: 0, order: 'start-first' }
    const plan = best(() => planRollout(target, observed))
    const sim = best(() => simulatePlan(plan.result, observed, target))
    if (sim.result.violations.length > 0) throw new Error(`N=${n} maxSurge ${label}: ${sim.result.violations[0]}`)
    console.log(`${pad(n, 7)} ${pad(label, 9)} ${pad(plan.result.waves.length, 6)} ${pad(fmt(plan.ms), 10)} ${pad(fmt(sim.ms), 10)} ${pad(fmt(plan.ms + sim.ms), 10)}`)
  }
}

console.log('')
console.log('forrest status, pure part: classify (classifyApp) and format (formatStatus, with the table)')
console.log(`${'rows'.padStart(7)} ${'classify'.padStart(10)} ${'format'.padStart(10)} ${'format/row'.padStart(11)} ${'lines'.padStart(7)}`)
const NOW = Date.parse('2024-06-01T12:00:00Z')
const spec = {
  name: 'web',
  image: 'web:2',
  replicas: 0,
  port: 8080,
  env: {},
  labels: {},
  announce: { prefix: 'app/servers', address: '10.0.0.1' },
  health: { type: 'http', path: '/health', status: 200, interval: 100, timeout: 5000, successes: 1, deadline: 5000 },
  update: { order: 'start-first', maxSurge: 1, maxUnavailable: 0, soak: 0, drain: 100, stopGracePeriod: 1000, onFailure: 'rollback', progressDeadline: 60000 },
}
for (const n of STATUS_N) {
  const containers = []
  const keys = new Map()
  const probes = new Map()
  for (let i = 1; i <= n; i++) {
    const name = `web-r2-${i}`
    const port = 20000 + (i % 40000)
    containers.push({
      id: `${String(i).padStart(12, '0')}abcdef`,
      name,
      image: 'web:2',
      imageId: 'sha256:x',
      labels: { 'forrest.managed': 'true', 'forrest.app': 'web', 'forrest.revision': '2', 'forrest.prefix': 'app/servers' },
      running: true,
      state: 'running',
      hostPort: port,
      createdAt: new Date(NOW - i * 1000),
    })
    // Every 10th instance drifts (no key) and every 7th fails its probe, so the drift list grows too.
    if (i % 10 !== 0) keys.set(name, `10.0.0.1:${port}`)
    probes.set(name, i % 7 === 0 ? { ok: false, detail: 'HTTP 503' } : { ok: true, detail: 'HTTP 200' })
  }
  const observation = {
    app: 'web',
    current: { revision: 2, replicas: n, updatedAt: 'x', by: 'bench' },
    revisions: [{ revision: 2, spec: { ...spec, replicas: n }, imageId: 'sha256:2222', templateHash: 'h', createdAt: 'x', author: 'bench', outcome: 'succeeded', changes: [] }],
    containers,
    keys,
  }
  const classified = best(() => classifyApp(observation, probes, NOW))
  const formatted = best(() => formatStatus({ apps: [classified.result], converged: false }))
  console.log(`${pad(n, 7)} ${pad(fmt(classified.ms), 10)} ${pad(fmt(formatted.ms), 10)} ${pad(`${((formatted.ms * 1000) / n).toFixed(1)} µs`, 11)} ${pad(formatted.result.length, 7)}`)
}
