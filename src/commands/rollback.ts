import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import type { RolloutResult } from '../engine/types.js'
import { allowUnreachableFlag, expandBareWaitLock, runRolloutVerb, waitLockFlag } from './shared.js'

export default class Rollback extends BaseCommand {
  static summary = 'Bring back the previous good revision (or --to a named one) with zero downtime.'
  static description = `Without --to, restores the newest revision before the current one whose rollout succeeded (rolled-back and failed revisions are skipped). The restored spec and image id are rolled out as a NEW revision that records which one it restored (see forrest history), with the current replica count and the app's update strategy, like a deploy.

The image id of that revision must still be on the Docker host: this is checked before anything is touched.

After a blue/green deploy the revision it replaced keeps running at weight 0 (for update.blueGreen.keepOld, and after that until the next rollout or forrest tidy retires it): while it runs, rollback switches all traffic back to it in one step and starts nothing, then drains the newer revision.

Exit codes: 0 done, 3 failed and rolled back, 4 failed, 5 another deploy holds the lock, 6 etcd unreachable, 7 Docker (a host) unreachable, 8 app, revision or image not found, 9 the app changed while waiting for the lock, 130 interrupted.`
  static examples = ['<%= config.bin %> rollback myapp', '<%= config.bin %> rollback myapp --to 3']
  static args = { app: Args.string({ required: true, description: 'App name' }) }
  static flags = {
    to: Flags.integer({ description: 'Revision to restore (see forrest history APP)', min: 1 }),
    'wait-lock': waitLockFlag,
    'allow-unreachable-hosts': allowUnreachableFlag,
  }

  async run(): Promise<RolloutResult> {
    const { args, flags } = await this.parse(Rollback, expandBareWaitLock(this.argv))
    const config = this.forrestConfig(flags)
    const { rollback } = await import('../verbs/rollback.js')
    const command = `rollback ${args.app}${flags.to ? ` --to ${flags.to}` : ''}`
    return runRolloutVerb(this, config, { command, waitLock: flags['wait-lock'], allowUnreachableHosts: flags['allow-unreachable-hosts'] }, (ctx, o) => rollback(ctx, args.app, flags.to, o))
  }
}
