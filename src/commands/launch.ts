import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { parseLabels } from '../config.js'
import { withContext } from '../context.js'
import { launch, type LaunchResult } from '../verbs/launch.js'

export default class Launch extends BaseCommand {
  static summary = 'Start a container from IMAGE and announce it in etcd (the original forrest launch).'
  static description = 'Publishes the container port on a free fixed host port (20000-29999) and puts /<prefix>/<container-name> = <FORREST_IP>:<host-port> in etcd, if that key is free and no app owns it. The container restarts after a crash (unless-stopped), like a rollout instance. If the announce fails, the container is removed again.'
  static examples = ['<%= config.bin %> launch demo/myapp:1', '<%= config.bin %> launch demo/myapp:1 --host h2 --hosts-file deployments/myapp.yml', '<%= config.bin %> launch demo/myapp:1 --name web-1 --port 8080 -e MODE=prod']
  static args = { image: Args.string({ required: true, description: 'Docker image (must be present on the Docker host)' }) }
  static flags = {
    name: Flags.string({ description: 'Container name (default: Docker picks one)' }),
    port: Flags.integer({ description: 'Container port to publish (default: the port the image exposes)', min: 1, max: 65535 }),
    env: Flags.string({ char: 'e', multiple: true, description: 'Environment variable K=V (repeatable)' }),
    label: Flags.string({ char: 'l', multiple: true, description: 'Extra Docker label K=V (repeatable)' }),
    host: Flags.string({ description: 'Run it on this Docker host (named in --hosts-file), announced at its address; "local" is the local engine (the default)', helpValue: 'NAME' }),
    'hosts-file': Flags.string({ description: 'A deployment file or inventory whose hosts: list describes --host [default: $FORREST_INVENTORY, else ./forrest.hosts.yml]', helpValue: 'FILE' }),
  }

  async run(): Promise<LaunchResult> {
    const { args, flags } = await this.parse(Launch)
    const config = this.forrestConfig(flags)
    const env = parseLabels((flags.env ?? []).join(','), '-e')
    const labels = parseLabels((flags.label ?? []).join(','), '--label')
    const { targetHost } = await import('../engine/target-host.js')
    return withContext(config, async (ctx) => {
      const host = await targetHost(ctx, { host: flags.host, hostsFile: flags['hosts-file'] })
      return launch(ctx, { image: args.image, name: flags.name, port: flags.port, env, labels, ...(host ? { host } : {}) }, (line) => this.log(line))
    })
  }
}
