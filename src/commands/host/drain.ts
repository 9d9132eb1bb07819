import { Args } from '@oclif/core'
import { currentActor } from '../../actor.js'
import { BaseCommand } from '../../base-command.js'
import { withContext } from '../../context.js'
import { withInterrupts } from '../../engine/signals.js'
import { chooseRenderer } from '../../report/renderer.js'
import type { DrainResult } from '../../verbs/host-drain.js'
import { allowUnreachableFlag, expandBareWaitLock, waitLockFlag, waitLockMs } from '../shared.js'

export default class HostDrain extends BaseCommand {
  static summary = 'Move every app\'s instances off a host, one app at a time within each app\'s bounds, and keep new ones off it.'
  static description = `Marks the host draining in etcd (/forrest/hosts/NAME), so every deploy from anywhere places nothing there and moves what runs there. Then, for each app whose records place instances on the host, one app at a time under that app's lock: its current revision and replica count are rolled again with the host left out, so new instances start on the app's other hosts and are acknowledged by the gateways before those on the host are withdrawn, drained and stopped (update.order, maxSurge and maxUnavailable hold as in any rollout). Ends with the host drained (still cordoned: forrest host uncordon NAME to use it again).

An app whose other hosts cannot take its instances (cordoned, draining, outside its placement, or none) stops the drain before that app is touched (exit 22). Interrupted (Ctrl-C, a killed CI job), run the same command again: the host is still draining, apps already moved are skipped and the rest are moved.

Exit codes: 0 drained, 2 no such host (nothing changed), 3 an app's move failed and was rolled back, 4 failed, 5 another deploy holds an app's lock, 6 etcd unreachable, 7 a host of an app did not answer, 22 no room elsewhere for an app, 130 interrupted.`
  static examples = ['<%= config.bin %> host drain h1', '<%= config.bin %> host drain h1 --wait-lock=2m --json']
  static args = { name: Args.string({ required: true, description: 'Host name (as in the hosts lists; forrest host ls)' }) }
  static flags = { 'wait-lock': waitLockFlag, 'allow-unreachable-hosts': allowUnreachableFlag }

  async run(): Promise<DrainResult> {
    const { args, flags } = await this.parse(HostDrain, expandBareWaitLock(this.argv))
    const config = this.forrestConfig(flags)
    const wait = waitLockMs(flags['wait-lock'])
    const { drainHost } = await import('../../verbs/host-drain.js')
    const renderer = chooseRenderer({ isTTY: Boolean(process.stdout.isTTY), env: process.env, json: this.jsonEnabled() })
    const result = await withContext(config, (ctx) =>
      withInterrupts((signal) => drainHost(ctx, args.name, { waitLockMs: wait, allowUnreachableHosts: flags['allow-unreachable-hosts'], renderer, signal, actor: currentActor(), command: `host drain ${args.name}` })),
    )
    if (!this.jsonEnabled()) {
      if (result.resumed) this.log(`resumed the drain of ${result.host}`)
      for (const a of result.apps) this.log(a.outcome === 'moved' ? `  ${a.app}: moved ${a.moved} instance${a.moved === 1 ? '' : 's'} off ${result.host}` : `  ${a.app}: nothing on ${result.host}`)
      this.log(`host ${result.host} is drained: no instance of any app runs there and none will be placed there (forrest host uncordon ${result.host} to use it again)`)
    }
    return result
  }
}
