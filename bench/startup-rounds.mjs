// Start-up of several forrest builds side by side, interleaved: every command once per round,
// in an order that rotates each round, so load from other work on the machine hits all alike.
// Usage (ETCD_HOST etc. in the environment, an app deployed from SPEC, nothing to change):
//   node bench/startup-rounds.mjs ROUNDS SPEC APP DIR...
// Each DIR is a built forrest checkout; the last one is also run with FORREST_CODE_CACHE=0 and
// FORREST_BUNDLE=0. Prints the median (min–max) wall time of each, whole process.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

const [rounds, spec, app, ...dirs] = process.argv.slice(2)
if (!dirs.length) throw new Error('usage: node bench/startup-rounds.mjs ROUNDS SPEC APP DIR...')
const cmds = [['node -e 0', ['-e', '0'], {}]]
const variants = (dir, label, env) => [
  [`--version ${label}`, [`${dir}/bin/run.js`, '--version'], env],
  [`no-op deploy ${label}`, [`${dir}/bin/run.js`, 'deploy', spec], env],
  [`status ${label}`, [`${dir}/bin/run.js`, 'status', app], env],
]
for (const d of dirs) cmds.push(...variants(d, basename(d), {}))
const last = dirs.at(-1)
cmds.push(...variants(last, `${basename(last)}, no code cache`, { FORREST_CODE_CACHE: '0' }).slice(1))
cmds.push(...variants(last, `${basename(last)}, unbundled`, { FORREST_BUNDLE: '0' }).slice(1))

const times = cmds.map(() => [])
const loads = []
for (let r = 0; r < Number(rounds); r++) {
  loads.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]))
  for (let k = 0; k < cmds.length; k++) {
    const i = (k + r) % cmds.length
    const [name, args, env] = cmds[i]
    const t0 = process.hrtime.bigint()
    const res = spawnSync(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
    if (res.status !== 0) throw new Error(`${name}: exit ${res.status}: ${String(res.stderr).slice(0, 500)}`)
    times[i].push(Number(process.hrtime.bigint() - t0) / 1e9)
  }
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
console.log(`${rounds} rounds, load average ${Math.min(...loads)}–${Math.max(...loads)}`)
cmds.forEach(([name], i) => console.log(`${name.padEnd(44)} ${median(times[i]).toFixed(3)} s (${Math.min(...times[i]).toFixed(3)}–${Math.max(...times[i]).toFixed(3)})`))
