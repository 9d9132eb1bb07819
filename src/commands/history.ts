import { Args } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { withContext } from '../context.js'
import type { HistoryResult } from '../verbs/history.js'

export default class History extends BaseCommand {
  static summary = "An app's revisions, newest first: image, when, who, outcome and what changed."
  static description = 'Outcomes: succeeded, rolled-back (failed and the previous revision was restored), failed, in-progress. A revision made by `forrest rollback` says which one it restored. Exit codes: 0 ok, 6 etcd unreachable, 8 app not found.'
  static examples = ['<%= config.bin %> history myapp', '<%= config.bin %> history myapp --json']
  static args = { app: Args.string({ required: true, description: 'App name' }) }

  async run(): Promise<HistoryResult> {
    const { args, flags } = await this.parse(History)
    const config = this.forrestConfig(flags)
    const { formatHistory, history } = await import('../verbs/history.js')
    const result = await withContext(config, (ctx) => history(ctx, args.app))
    if (!this.jsonEnabled()) for (const line of formatHistory(result)) this.log(line)
    return result
  }
}
