import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { withContext } from '../context.js'
import { stop, type StopResult } from '../rollout/stop.js'

export default class Stop extends BaseCommand {
  static summary = 'Withdraw a forrest container from etcd, then stop and remove it (the original forrest stop).'
  static description = 'The key is deleted first, so the load balancer stops routing before the container gets SIGTERM; after the grace period it is killed. Containers without forrest labels are never touched.'
  static examples = ['<%= config.bin %> stop sharp_mccarthy']
  static args = { name: Args.string({ required: true, description: 'Container name' }) }
  static flags = {
    grace: Flags.integer({ description: 'Seconds between SIGTERM and SIGKILL', default: 10, min: 0 }),
  }

  async run(): Promise<StopResult> {
    const { args, flags } = await this.parse(Stop)
    const config = this.forrestConfig(flags)
    return withContext(config, (ctx) => stop(ctx, args.name, flags.grace, (line) => this.log(line)))
  }
}
