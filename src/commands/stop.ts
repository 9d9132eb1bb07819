import { Args, Flags } from '@oclif/core'
import { currentActor } from '../actor.js'
import { BaseCommand } from '../base-command.js'
import { withContext } from '../context.js'
import { ForrestError } from '../errors.js'
import { withInterrupts } from '../engine/signals.js'
import type { StopResult } from '../verbs/stop.js'
import { parseDuration } from '../spec/duration.js'
import { expandBareWaitLock, waitLockFlag, waitLockMs } from './shared.js'

export default class Stop extends BaseCommand {
  static summary = 'Withdraw a forrest container from etcd, drain it, then stop and remove it (the original forrest stop).'
  static description = `Takes the app's lock (like deploy), deletes the key so the load balancer stops routing, waits for every live \`forrest gateway\` to confirm it has drained the instance (without gateways: --drain, default the app's update.drain), then sends SIGTERM and after the grace period SIGKILL. Containers without forrest labels, or of another forrest environment, are never touched.

Exit codes: 0 stopped, 4 a gateway did not confirm the drain (the container keeps running), 5 another deploy holds the lock, 6 etcd unreachable, 7 Docker unreachable, 8 no such container, 9 not this forrest's container, 12 lost the lock.`
  static examples = ['<%= config.bin %> stop sharp_mccarthy', '<%= config.bin %> stop web-1 --host h2 --hosts-file deployments/myapp.yml', '<%= config.bin %> stop myapp-r3-2 --wait-lock=1m']
  static args = { name: Args.string({ required: true, description: 'Container name' }) }
  static flags = {
    grace: Flags.integer({ description: 'Seconds between SIGTERM and SIGKILL', default: 10, min: 0 }),
    drain: Flags.string({ description: "Without gateways: time between withdrawing and stopping (default: the app's update.drain, else 2s)", helpValue: 'DURATION' }),
    'wait-lock': waitLockFlag,
    host: Flags.string({ description: 'The Docker host a `forrest launch --host` container runs on (named in --hosts-file); an app\'s instance is found from its record without it', helpValue: 'NAME' }),
    'hosts-file': Flags.string({ description: 'A deployment file or inventory whose hosts: list describes --host [default: $FORREST_INVENTORY, else ./forrest.hosts.yml]', helpValue: 'FILE' }),
  }

  async run(): Promise<StopResult> {
    const { args, flags } = await this.parse(Stop, expandBareWaitLock(this.argv))
    const config = this.forrestConfig(flags)
    const drainMs = flags.drain === undefined ? undefined : parseDuration(flags.drain)
    if (drainMs === undefined && flags.drain !== undefined) throw new ForrestError('BAD_INPUT', `--drain "${flags.drain}" is not a duration`, { suggestion: 'Write e.g. --drain=500ms or --drain=5s.' })
    const [{ stop }, { targetHost }] = await Promise.all([import('../verbs/stop.js'), import('../engine/target-host.js')])
    return withContext(config, async (ctx) => {
      const host = await targetHost(ctx, { host: flags.host, hostsFile: flags['hosts-file'] })
      return withInterrupts((signal) => stop(ctx, args.name, { graceSeconds: flags.grace, drainMs, waitLockMs: waitLockMs(flags['wait-lock']), actor: currentActor(), signal, ...(host ? { host } : {}) }, (line) => this.log(line)))
    })
  }
}
