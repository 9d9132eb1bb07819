import { Args } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { parseScaleArgs } from '../verbs/scale-counts.js'
import type { RolloutResult } from '../engine/types.js'
import { allowUnreachableFlag, expandBareWaitLock, runRolloutVerb, waitLockFlag } from './shared.js'

export default class Scale extends BaseCommand {
  static summary = 'Change how many instances of the current revision serve, without replacing the running ones.'
  static description = `Scaling up starts new instances of the current revision (same image id and spec) and announces each once healthy. Scaling down withdraws the extra instances from etcd first, drains, then stops them. N=0 stops all of them; scaling up from 0 works.

The count is recorded in etcd, but the deployment file stays the source of truth: the next \`forrest deploy\` of the file sets the file's replica count again, and its plan says so ("replicas 5 (set by forrest scale at … by …) → 3 (from the file)"). Change the file to make a new count stick.

A blue/green standby (the old revision kept at weight 0 after a switch) is left running while its update.blueGreen.keepOld lasts, and retired by the scale once it has passed.

Exit codes: 0 done, 2 bad input, 4 failed, 5 another deploy holds the lock, 6 etcd unreachable, 7 Docker (a host) unreachable, 8 app or image not found, 9 the app changed while waiting for the lock, 130 interrupted.`
  static examples = ['<%= config.bin %> scale myapp 5', '<%= config.bin %> scale myapp worker=5', '<%= config.bin %> scale myapp web=3 worker=5', '<%= config.bin %> scale myapp 0', '<%= config.bin %> scale myapp 3 --wait-lock=2m --json']
  static args = {
    app: Args.string({ required: true, description: 'App name (as in the deployment file)' }),
    // A string, checked here: oclif's integer arg errors are not typed as bad input.
    replicas: Args.string({ required: true, description: 'Number of instances (0 or more), or PROCESS=N for an app with processes (worker=5); several: web=3 worker=5' }),
  }
  // PROCESS=N pairs may follow the first.
  static strict = false
  static flags = { 'wait-lock': waitLockFlag, 'allow-unreachable-hosts': allowUnreachableFlag }

  async run(): Promise<RolloutResult> {
    const { args, argv, flags } = await this.parse(Scale, expandBareWaitLock(this.argv))
    const config = this.forrestConfig(flags)
    const counts = (argv as string[]).slice(1)
    const request = parseScaleArgs(counts, args.app)
    const { scale } = await import('../verbs/scale.js')
    return runRolloutVerb(this, config, { command: `scale ${args.app} ${counts.join(' ')}`, waitLock: flags['wait-lock'], allowUnreachableHosts: flags['allow-unreachable-hosts'] }, (ctx, o) => scale(ctx, args.app, request, o))
  }
}
