import { BaseCommand } from '../../base-command.js'
import { withContext } from '../../context.js'
import type { HostList } from '../../verbs/host.js'

export default class HostLs extends BaseCommand {
  static summary = 'Every Docker host forrest knows of: its availability (active, cordoned, draining, drained) and the instances of each app on it.'
  static description = `Hosts come from every app's current revision (its hosts list, or the local engine), from the apps' instance records, and from the hosts' availability records in etcd (/forrest/hosts/NAME). Reads only.

Exit codes: 0 ok, 6 etcd unreachable.`
  static examples = ['<%= config.bin %> host ls', '<%= config.bin %> host ls --json']

  async run(): Promise<HostList> {
    const { flags } = await this.parse(HostLs)
    const config = this.forrestConfig(flags)
    const [{ listHosts }, { formatHosts }] = await Promise.all([import('../../verbs/host.js'), import('../../report/hosts-format.js')])
    const result = await withContext(config, (ctx) => listHosts(ctx))
    if (!this.jsonEnabled()) for (const line of formatHosts(result.hosts)) this.log(line)
    return result
  }
}
