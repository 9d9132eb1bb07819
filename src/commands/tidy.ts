import { Args } from '@oclif/core'
import { currentActor } from '../actor.js'
import { BaseCommand } from '../base-command.js'
import { withContext } from '../context.js'
import { withInterrupts } from '../engine/signals.js'
import { chooseRenderer } from '../report/renderer.js'
import type { TidyResult } from '../verbs/tidy.js'
import { allowUnreachableFlag, expandBareWaitLock, waitLockFlag, waitLockMs } from './shared.js'

export default class Tidy extends BaseCommand {
  static summary = 'Retire every blue/green standby whose update.blueGreen.keepOld is up (for a cron job or systemd timer).'
  static description = `After a blue/green switch the replaced revision keeps running at weight 0 for update.blueGreen.keepOld (default 30m), so \`forrest rollback APP\` switches back in one step. forrest runs no daemon that could stop it on time: the next rollout of the app retires it once its time is up, and so does this command, for every app (or the one named), one app at a time under that app's lock: its instances are withdrawn, drained and stopped within the app's bounds, as any retire. A standby whose time is not up is kept and listed. Nothing expired: says so, changes nothing, exit 0. Run it from a timer (examples/systemd/forrest-tidy.timer).

Exit codes: 0 done (also when nothing had expired), 3 a retire failed and was rolled back, 4 failed, 5 another rollout holds an app's lock, 6 etcd unreachable, 7 a host of an app did not answer, 8 no such app, 9 the app changed while waiting for the lock, 130 interrupted.`
  static examples = ['<%= config.bin %> tidy', '<%= config.bin %> tidy myapp', '<%= config.bin %> tidy --wait-lock=2m --json']
  static args = { app: Args.string({ required: false, description: 'Only this app (default: every app)' }) }
  static flags = { 'wait-lock': waitLockFlag, 'allow-unreachable-hosts': allowUnreachableFlag }

  async run(): Promise<TidyResult> {
    const { args, flags } = await this.parse(Tidy, expandBareWaitLock(this.argv))
    const config = this.forrestConfig(flags)
    const wait = waitLockMs(flags['wait-lock'])
    const { tidy, describeTidy } = await import('../verbs/tidy.js')
    const renderer = chooseRenderer({ isTTY: Boolean(process.stdout.isTTY), env: process.env, json: this.jsonEnabled() })
    const result = await withContext(config, (ctx) =>
      withInterrupts((signal) => tidy(ctx, args.app, { waitLockMs: wait, allowUnreachableHosts: flags['allow-unreachable-hosts'], renderer, signal, actor: currentActor(), command: `tidy${args.app ? ` ${args.app}` : ''}` })),
    )
    if (!this.jsonEnabled()) for (const l of describeTidy(result, args.app)) this.log(l)
    return result
  }
}
