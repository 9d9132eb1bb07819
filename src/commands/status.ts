import { Args } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { withContext } from '../context.js'
import { ForrestError } from '../errors.js'
import type { StatusReport } from '../verbs/status.js'

export default class Status extends BaseCommand {
  static summary = 'What is running for every app (or one): revision, counts, each instance and its health, and anything out of step.'
  static description = `Reads only: one Docker list of forrest containers (of APP only, when given), the etcd keys of each app's instances, forrest's records and locks, and one HTTP health probe per registered address. Reports a key with no container, a container with no key, a stopped container, instances of an older revision, failed probes, a wrong instance count, and a rollout in progress (who holds the lock). Containers without forrest labels are ignored. Without APP every app is one row of one table (revision, image, counts, hosts, prefix, state) with what is out of step below it, and the containers \`forrest launch\` started (they never make it fail); with --json every app in full.

Exit codes: 0 every listed app is at its desired state; 10 something is out of step (also while a canary is held by update.canary.pause: the status says so and names forrest promote / forrest abort) (the status is printed anyway; with --json it is the error's "detail"); 6 etcd unreachable, 7 Docker unreachable, 8 app not found.`
  static examples = ['<%= config.bin %> status', '<%= config.bin %> status myapp', '<%= config.bin %> status myapp --json']
  static args = { app: Args.string({ description: 'App name (default: every app)' }) }

  async run(): Promise<StatusReport> {
    const { args, flags } = await this.parse(Status)
    const config = this.forrestConfig(flags)
    const [{ collectStatus }, { formatStatus, notConvergedHint }, { formatOverview }] = await Promise.all([import('../verbs/status.js'), import('../report/status-format.js'), import('../report/status-overview.js')])
    const report = await withContext(config, (ctx) => collectStatus(ctx, args.app))
    // Without APP, every app in one table (each instance: status APP).
    if (!this.jsonEnabled()) for (const line of args.app ? formatStatus(report) : formatOverview(report)) this.log(line)
    if (!report.converged) {
      const off = report.apps.filter((a) => !a.converged)
      // The base command maps this to exit 10; the status itself has already been printed.
      throw new ForrestError('NOT_CONVERGED', `${off.map((a) => a.app).join(', ')} ${off.length === 1 ? 'is' : 'are'} not at the desired state (${off.reduce((n, a) => n + a.drift.length, 0)} out of step)`, {
        suggestion: notConvergedHint(off),
        detail: report,
      })
    }
    return report
  }
}
