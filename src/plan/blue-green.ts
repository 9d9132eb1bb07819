/**
 * Blue/green (update.strategy: blue-green): pure parts. The whole new revision starts beside the
 * serving one at weight 0 (checked by HAProxy, no traffic); one switch then moves all traffic;
 * the old revision keeps running at weight 0, so a rollback switches back without starting
 * anything. The executor (src/engine/blue-green.ts) does the switch.
 */
import { WAVES_NOTE } from './plan-rollout.js'
import type { RetireStep, RolloutPlan, Wave } from './types.js'

/**
 * One wave of every start (at weight 0) with the switch after it; the retires of the revision
 * being replaced are dropped (it stays, at weight 0, for rollback), any other retire (a stale
 * key, an older revision) runs after the switch. Only an update has two colours: a create or a
 * scale is returned as it is.
 */
export function withBlueGreen(plan: RolloutPlan, serving: number | undefined): RolloutPlan {
  if (plan.action !== 'update') return plan
  const starts = plan.waves.flatMap((w) => w.starts).map((s) => ({ ...s, weight: 0 }))
  const retires = plan.waves.flatMap((w) => w.retires)
  const kept = retires.filter((r) => r.revision === serving && r.reason === 'replace')
  const others: RetireStep[] = retires.filter((r) => !kept.includes(r))
  const waves: Wave[] = [{ order: 'start-first', starts, retires: [], switch: true }]
  if (others.length) waves.push({ order: 'start-first', starts: [], retires: others })
  const notes = plan.notes.filter((l) => !WAVES_NOTE.test(l))
  notes.push(
    `blue/green: start ${starts.length} instance${starts.length === 1 ? '' : 's'} of revision ${plan.toRevision} beside the ${kept.length} of revision ${serving ?? '?'} at weight 0 (checked, no traffic), then switch all traffic in one step; revision ${serving ?? '?'} keeps running at weight 0 for forrest rollback (${kept.map((r) => r.instance).join(', ') || 'none'})`,
  )
  return { ...plan, waves, notes }
}

/** Instances each host runs at the switch: both colours. */
export function instancesPerHost(plan: RolloutPlan, servingHosts: ReadonlyArray<string | undefined>): Map<string, number> {
  const out = new Map<string, number>()
  const add = (h: string | undefined) => out.set(h ?? '', (out.get(h ?? '') ?? 0) + 1)
  for (const w of plan.waves) for (const s of w.starts) add(s.host)
  for (const h of servingHosts) add(h)
  return out
}

/**
 * Room for two full revisions on each host, checked before anything starts: host ports in the
 * range and, when the spec sets a memory limit, the host's memory for every container's limit.
 * Returns one problem line per host that lacks it.
 */
export function capacityProblems(x: {
  perHost: ReadonlyMap<string, number>
  ports: { from: number; to: number }
  memoryLimitBytes?: number
  memoryOf?: ReadonlyMap<string, number>
}): string[] {
  const problems: string[] = []
  const range = x.ports.to - x.ports.from + 1
  for (const [host, n] of x.perHost) {
    const name = host || 'the local engine'
    if (n > range) problems.push(`${name} would run ${n} instances (both revisions) but hostPorts ${x.ports.from}-${x.ports.to} has ${range} ports: widen hostPorts`)
    const mem = x.memoryOf?.get(host)
    if (x.memoryLimitBytes && mem !== undefined && n * x.memoryLimitBytes > mem) {
      const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`
      problems.push(`${name} would run ${n} instances (both revisions) with container.resources.memory ${gib(x.memoryLimitBytes)} each, ${gib(n * x.memoryLimitBytes)} in all, but has ${gib(mem)}: lower replicas or container.resources.memory, add hosts, or use strategy rolling`)
    }
  }
  return problems
}
