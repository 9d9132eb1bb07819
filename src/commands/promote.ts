import { Args } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import type { RolloutResult } from '../engine/types.js'
import { allowUnreachableFlag, expandBareWaitLock, runRolloutVerb, waitLockFlag } from './shared.js'

export default class Promote extends BaseCommand {
  static summary = 'Continue a rollout held after its canary (update.canary.pause): replace the old instances with the waiting revision.'
  static description = `Takes the deploy lock and goes the same way as a deploy (observe, plan, execute, rollback on a failed step), converging to the revision that waits after its canary: its canary instances stay, the old ones are replaced under the app's update strategy. No new revision is made and the canary is not judged again.

Exit codes: 0 done, 3 failed and rolled back to the current revision, 4 failed, 5 another deploy holds the lock, 6 etcd unreachable, 7 Docker (a host) unreachable, 8 app or waiting revision not found, 9 the app changed while waiting for the lock, 130 interrupted.`
  static examples = ['<%= config.bin %> promote myapp', '<%= config.bin %> promote myapp --json']
  static args = { app: Args.string({ required: true, description: 'App name' }) }
  static flags = {
    'wait-lock': waitLockFlag,
    'allow-unreachable-hosts': allowUnreachableFlag,
  }

  async run(): Promise<RolloutResult> {
    const { args, flags } = await this.parse(Promote, expandBareWaitLock(this.argv))
    const config = this.forrestConfig(flags)
    const { resumeRollout } = await import('../verbs/promote.js')
    return runRolloutVerb(this, config, { command: `promote ${args.app}`, waitLock: flags['wait-lock'], allowUnreachableHosts: flags['allow-unreachable-hosts'] }, (ctx, o) => resumeRollout(ctx, args.app, 'promote', o))
  }
}
