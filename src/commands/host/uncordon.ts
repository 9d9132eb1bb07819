import { Args } from '@oclif/core'
import { BaseCommand } from '../../base-command.js'
import { withContext } from '../../context.js'
import type { HostChange } from '../../verbs/host.js'

export default class HostUncordon extends BaseCommand {
  static summary = 'Make a cordoned, draining or drained host active again: the next deploy (or scale) of each app places on it and rebalances.'
  static description = `Removes the host's availability record (/forrest/hosts/NAME). Nothing moves by itself: the next forrest deploy of an app that lists the host spreads its replicas evenly again, within its bounds.

Exit codes: 0 done, 2 no such host (nothing changed), 6 etcd unreachable.`
  static examples = ['<%= config.bin %> host uncordon h1']
  static args = { name: Args.string({ required: true, description: 'Host name (as in the hosts lists; forrest host ls)' }) }

  async run(): Promise<HostChange> {
    const { args, flags } = await this.parse(HostUncordon)
    const config = this.forrestConfig(flags)
    const { uncordonHost } = await import('../../verbs/host.js')
    const result = await withContext(config, (ctx) => uncordonHost(ctx, args.name))
    if (!this.jsonEnabled()) this.log(result.from === result.to ? `host ${result.host} is already ${result.to}: nothing changed` : `host ${result.host}: ${result.from} → ${result.to}`)
    return result
  }
}
