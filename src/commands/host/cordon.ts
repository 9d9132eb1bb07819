import { Args } from '@oclif/core'
import { currentActor } from '../../actor.js'
import { BaseCommand } from '../../base-command.js'
import { withContext } from '../../context.js'
import type { HostChange } from '../../verbs/host.js'

export default class HostCordon extends BaseCommand {
  static summary = 'Stop placing new instances of any app on a host: what runs there stays, every deploy (from any CI job) places elsewhere.'
  static description = `The host is marked cordoned in etcd (/forrest/hosts/NAME), which every rollout reads under its app's lock. Cordoning a host that is already cordoned, draining or drained changes nothing. To move what runs there: forrest host drain NAME. To undo: forrest host uncordon NAME.

Exit codes: 0 done, 2 no such host (nothing changed), 6 etcd unreachable.`
  static examples = ['<%= config.bin %> host cordon h1']
  static args = { name: Args.string({ required: true, description: 'Host name (as in the hosts lists; forrest host ls)' }) }

  async run(): Promise<HostChange> {
    const { args, flags } = await this.parse(HostCordon)
    const config = this.forrestConfig(flags)
    const { cordonHost } = await import('../../verbs/host.js')
    const result = await withContext(config, (ctx) => cordonHost(ctx, args.name, currentActor()))
    if (!this.jsonEnabled()) this.log(result.from === result.to ? `host ${result.host} is already ${result.to}: nothing changed` : `host ${result.host}: ${result.from} → ${result.to}`)
    return result
  }
}
