import { currentActor } from '../actor.js'
import type { ForrestConfig } from '../config.js'
import { withContext, type Context } from '../context.js'
import { ForrestError } from '../errors.js'
import type { RolloutOptions, RolloutResult } from '../engine/types.js'
import { withInterrupts } from '../engine/signals.js'
import { chooseRenderer } from '../report/renderer.js'
import { loadSpecSet, type SpecFile } from '../spec/load-set.js'
import { deployApps, orderSpecFiles, summarize, type AppsResult } from '../verbs/deploy-apps.js'
import { printResult, waitLockMs } from './shared.js'

/**
 * `forrest deploy DIR` / several files: validate and order every file (nothing touched on a bad
 * one), then one context and Ctrl-C handler for the set, each app's deploy as `deploy FILE` runs
 * it, its summary printed as it ends, and the set's summary after.
 */
export async function runAppsDeploy(
  cmd: { jsonEnabled(): boolean; log(line: string): void },
  config: ForrestConfig,
  paths: string[],
  opts: { waitLock?: string; dryRun?: boolean; allowUnreachableHosts?: boolean; svg?: string; inventory?: string },
  deployOne: (ctx: Context, f: SpecFile, o: RolloutOptions) => Promise<RolloutResult>,
): Promise<AppsResult> {
  if (opts.svg) throw new ForrestError('BAD_INPUT', '--svg draws one app\'s rollout; with several files or a directory nothing was changed', { suggestion: 'Deploy the files without --svg, or one file with --svg.' })
  const wait = waitLockMs(opts.waitLock)
  const ordered = orderSpecFiles(await loadSpecSet(paths, { inventory: opts.inventory }), process.env)
  const say = (l: string) => (cmd.jsonEnabled() ? undefined : cmd.log(l))
  const result = await withContext(config, (ctx) =>
    withInterrupts((signal) => {
      const o: RolloutOptions = {
        dryRun: opts.dryRun,
        waitLockMs: wait,
        allowUnreachableHosts: opts.allowUnreachableHosts,
        renderer: opts.dryRun ? 'silent' : chooseRenderer({ isTTY: Boolean(process.stdout.isTTY), env: process.env, json: cmd.jsonEnabled() }),
        signal,
        actor: currentActor(),
        command: '',
      }
      say(`deploying ${ordered.length} apps in order: ${ordered.map((f) => f.spec.name).join(', ')}`)
      return deployApps(ordered, (f) => deployOne(ctx, f, { ...o, command: `deploy ${f.file}` }), {
        dryRun: opts.dryRun,
        signal,
        onResult: async (a) => (a.result && !cmd.jsonEnabled() ? printResult(a.result, say) : undefined),
      })
    }),
  )
  say(summarize(result))
  return result
}
