import { writeFile } from 'node:fs/promises'
import { Flags } from '@oclif/core'
import { currentActor } from '../actor.js'
import type { ForrestConfig } from '../config.js'
import { withContext, type Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { chooseRenderer } from '../report/renderer.js'
import type { RolloutOptions, RolloutResult } from '../engine/types.js'
import { withInterrupts } from '../engine/signals.js'
import { parseDuration } from '../spec/duration.js'
import { shortRef } from '../spec/image-reference.js'

/** --wait-lock[=DURATION]: bare means 10m (commands rewrite the bare form before parsing). */
export const waitLockFlag = Flags.string({
  description: 'If another deploy of the app holds the lock, wait for it (default 10m when no duration is given) instead of failing at once',
  helpValue: 'DURATION',
})

export const WAIT_LOCK_DEFAULT = '10m'

/** --inventory FILE: the shared hosts an app's `hosts: inventory` means (default: forrest.hosts.yml beside the file). */
export const inventoryFlag = Flags.string({
  description: 'The inventory an app\'s "hosts: inventory" uses [env: FORREST_INVENTORY, default: forrest.hosts.yml beside FILE]',
  helpValue: 'FILE',
})

/** --allow-unreachable-hosts: roll on the hosts that answer (the bounds then hold for those). */
export const allowUnreachableFlag = Flags.boolean({
  description: 'If a Docker host of the app does not answer, roll on the others instead of failing before any change (nothing on the missing host is touched)',
})

/** oclif has no optional-value flags: turn a bare --wait-lock into --wait-lock=10m. */
export const expandBareWaitLock = (argv: string[]) => argv.map((a) => (a === '--wait-lock' ? `--wait-lock=${WAIT_LOCK_DEFAULT}` : a))

export function waitLockMs(value: string | undefined): number {
  if (value === undefined) return 0
  const ms = parseDuration(value)
  if (ms === undefined) throw new ForrestError('BAD_INPUT', `--wait-lock "${value}" is not a duration`, { suggestion: 'Write e.g. --wait-lock=2m or --wait-lock=30s.' })
  return ms
}

/**
 * Everything deploy, diff, scale and rollback share: one Docker + etcd context, Ctrl-C
 * handling, the renderer for this output, who is acting, and the human summary afterwards.
 */
export async function runRolloutVerb(
  cmd: { jsonEnabled(): boolean; log(line: string): void },
  config: ForrestConfig,
  opts: { command: string; waitLock?: string; dryRun?: boolean; allowUnreachableHosts?: boolean },
  verb: (ctx: Context, o: RolloutOptions) => Promise<RolloutResult>,
): Promise<RolloutResult> {
  const wait = waitLockMs(opts.waitLock)
  const result = await withContext(config, (ctx) =>
    withInterrupts((signal) =>
      verb(ctx, {
        dryRun: opts.dryRun,
        waitLockMs: wait,
        allowUnreachableHosts: opts.allowUnreachableHosts,
        renderer: opts.dryRun ? 'silent' : chooseRenderer({ isTTY: Boolean(process.stdout.isTTY), env: process.env, json: cmd.jsonEnabled() }),
        signal,
        actor: currentActor(),
        command: opts.command,
      }),
    ),
  )
  if (!cmd.jsonEnabled()) await printResult(result, (l) => cmd.log(l))
  return result
}

export async function printResult(r: RolloutResult, log: (line: string) => void): Promise<void> {
  const took = `${(r.timings.totalMs / 1000).toFixed(1)}s`
  if (r.image?.digest) log(`image ${shortRef(r.image.ref)}${r.image.pulled.length ? ` (pulled on ${r.image.pulled.join(', ')})` : ''}`)
  switch (r.outcome) {
    case 'dry-run': {
      const { describePlan } = await import('../plan/describe.js')
      log(`Changes against ${r.fromRevision === undefined ? 'nothing deployed yet' : `revision ${r.fromRevision}`}:`)
      for (const c of r.changes) log(`  ${c}`)
      log(`Plan for ${r.app} (dry run, nothing changed):`)
      for (const l of describePlan(r.plan)) log(`  ${l}`)
      return
    }
    case 'noop':
      for (const l of r.notes) log(l)
      return
    default:
      for (const l of r.notes) log(l)
      if (r.canary) log((await import('../plan/canary.js')).describeCanary(r.canary))
      log(`${r.app}: revision ${r.revision}, ${r.instances.filter((i) => i.registered && i.running).length}/${r.replicas} serving (${r.outcome} in ${took})`)
      for (const i of r.instances) log(`  ${i.name}  ${i.address ?? '-'}  revision ${i.revision ?? '?'}`)
  }
}

/** --svg FILE: the rollout drawn after it ran, also when it failed (from the error's result). */
export async function withRolloutSvg(file: string | undefined, fn: () => Promise<RolloutResult>, say: (line: string) => void): Promise<RolloutResult> {
  if (!file) return fn()
  const { renderRolloutSvg } = await import('../report/rollout-svg.js')
  const write = async (r: RolloutResult) => {
    await writeFile(file, renderRolloutSvg(r))
    say(`wrote the rollout picture (${r.timings.steps.length} step${r.timings.steps.length === 1 ? '' : 's'}) to ${file}`)
  }
  let result: RolloutResult
  try {
    result = await fn()
  } catch (err) {
    const detail = err instanceof ForrestError ? (err.detail as RolloutResult | undefined) : undefined
    if (detail?.timings?.steps) await write(detail).catch(() => undefined)
    throw err
  }
  await write(result)
  return result
}
