import { Args } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import type { RolloutResult } from '../engine/types.js'
import { inventoryFlag, runRolloutVerb } from './shared.js'

export default class Diff extends BaseCommand {
  static summary = 'Show what `forrest deploy FILE` would change, and change nothing (same as deploy --dry-run).'
  static description = 'Validates FILE, observes Docker and etcd, and prints what changed against the current revision and the plan, wave by wave. Takes no lock. While a canary is held (update.canary.pause), the plan says first that a deploy would retire it, and how to promote it instead. Exit codes: 0 ok, 2 bad input, 6 etcd unreachable, 7 Docker unreachable, 8 image not found.'
  static examples = ['<%= config.bin %> diff deployments/myapp.yml', '<%= config.bin %> diff deployments/myapp.yml --json']
  static args = { file: Args.string({ required: true, description: 'Deployment YAML' }) }
  static flags = { inventory: inventoryFlag }

  async run(): Promise<RolloutResult> {
    const { args, flags } = await this.parse(Diff)
    const config = this.forrestConfig(flags)
    const [{ loadSpecFile }, { deploy }] = await Promise.all([import('../spec/load.js'), import('../verbs/deploy.js')])
    const spec = await loadSpecFile(args.file, { inventory: flags.inventory })
    return runRolloutVerb(this, config, { command: `diff ${args.file}`, dryRun: true }, (ctx, o) => deploy(ctx, spec, args.file, o))
  }
}
