import { Args } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import type { RolloutResult } from '../engine/types.js'
import { allowUnreachableFlag, expandBareWaitLock, runRolloutVerb, waitLockFlag } from './shared.js'

export default class Abort extends BaseCommand {
  static summary = 'Roll back a rollout held after its canary (update.canary.pause): retire the canary instances, keep the current revision.'
  static description = `Takes the deploy lock and goes the same way as a deploy, converging to the current revision: the waiting revision's canary instances are withdrawn, drained and stopped, and that revision is recorded as rolled back.

Exit codes: 0 done, 4 failed, 5 another deploy holds the lock, 6 etcd unreachable, 7 Docker (a host) unreachable, 8 app or waiting revision not found, 9 the app changed while waiting for the lock, 130 interrupted.`
  static examples = ['<%= config.bin %> abort myapp', '<%= config.bin %> abort myapp --json']
  static args = { app: Args.string({ required: true, description: 'App name' }) }
  static flags = {
    'wait-lock': waitLockFlag,
    'allow-unreachable-hosts': allowUnreachableFlag,
  }

  async run(): Promise<RolloutResult> {
    const { args, flags } = await this.parse(Abort, expandBareWaitLock(this.argv))
    const config = this.forrestConfig(flags)
    const { resumeRollout } = await import('../verbs/promote.js')
    return runRolloutVerb(this, config, { command: `abort ${args.app}`, waitLock: flags['wait-lock'], allowUnreachableHosts: flags['allow-unreachable-hosts'] }, (ctx, o) => resumeRollout(ctx, args.app, 'abort', o))
  }
}
