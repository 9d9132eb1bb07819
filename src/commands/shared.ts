import { Flags } from '@oclif/core'
import type { RolloutPlan } from '../plan/types.js'
import type { RolloutResult } from '../rollout/rollout.js'

/** --wait-lock[=DURATION]: bare means 10m (commands rewrite the bare form before parsing). */
export const waitLockFlag = Flags.string({
  description: 'If another deploy of the app holds the lock, wait for it (default 10m when no duration is given) instead of failing at once',
  helpValue: 'DURATION',
})

export const WAIT_LOCK_DEFAULT = '10m'

/** oclif has no optional-value flags: turn a bare --wait-lock into --wait-lock=10m. */
export const expandBareWaitLock = (argv: string[]) => argv.map((a) => (a === '--wait-lock' ? `--wait-lock=${WAIT_LOCK_DEFAULT}` : a))

export function printResult(r: RolloutResult, log: (line: string) => void, describe: (p: RolloutPlan) => string[]): void {
  const took = `${(r.timings.totalMs / 1000).toFixed(1)}s`
  switch (r.outcome) {
    case 'dry-run':
      log(`Plan for ${r.app} (dry run, nothing changed):`)
      for (const l of describe(r.plan)) log(`  ${l}`)
      return
    case 'noop':
      for (const l of r.plan.notes) log(l)
      return
    default:
      log(`${r.app}: revision ${r.revision}, ${r.instances.filter((i) => i.registered && i.running).length}/${r.replicas} serving (${r.outcome} in ${took})`)
      for (const i of r.instances) log(`  ${i.name}  ${i.address ?? '-'}  revision ${i.revision ?? '?'}`)
  }
}
