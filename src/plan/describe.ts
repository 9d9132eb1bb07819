/** Human-readable plan for --dry-run: the notes, then one line per wave in execution order. */
import type { AdoptStep, RetireStep, RolloutPlan, StartStep, Wave } from './types.js'

export function describePlan(plan: RolloutPlan): string[] {
  return [...plan.notes, ...plan.waves.map((wave, i) => `wave ${i + 1}${workerOf(wave)}: ${describeWave(wave)}`)]
}

/** A worker process's wave (each wave holds one process's steps): said, since nothing of it is announced. */
function workerOf(wave: Wave): string {
  const process = [...wave.starts, ...wave.retires][0]?.process
  return process ? ` (${process}, not announced)` : ''
}

function describeWave(wave: Wave): string {
  const starts = describeStarts(wave.starts)
  const retires = wave.retires.length > 0 ? `retire ${wave.retires.map(describeRetire).join(', ')}` : ''
  const [first, then] = wave.order === 'start-first' ? [starts, retires] : [retires, starts]
  const line = first && then ? `${first}; then ${then}` : first || then
  return wave.canary ? `${line} (canary); then judge it on the gateways' traffic counters` : line
}

function describeStarts(steps: Array<StartStep | AdoptStep>): string {
  const parts: string[] = []
  const started = steps.filter((s) => s.kind === 'start').map((s) => s.instance)
  const adopted = steps.filter((s) => s.kind === 'adopt').map((s) => s.instance)
  if (started.length > 0) parts.push(`start ${started.join(', ')}`)
  if (adopted.length > 0) parts.push(`adopt ${adopted.join(', ')}`)
  return parts.join(' and ')
}

function describeRetire(step: RetireStep): string {
  return `${step.instance} (${step.reason})`
}
