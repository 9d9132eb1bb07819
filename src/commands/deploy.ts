import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { ForrestError } from '../errors.js'
import type { RolloutResult } from '../engine/types.js'
import type { AppsResult } from '../verbs/deploy-apps.js'
import { allowUnreachableFlag, expandBareWaitLock, inventoryFlag, runRolloutVerb, waitLockFlag, withRolloutSvg } from './shared.js'

export default class Deploy extends BaseCommand {
  static summary = 'Roll out a deployment file with zero downtime: observe, plan, then launch → health → announce → withdraw → drain → stop.'
  static description = `Reads the desired state from FILE, compares it with what is registered in etcd and running in Docker, and carries out the difference. Re-running an unchanged file is a no-op. A changed image, env, command or port makes a new revision; a changed replica count alone scales. The file's replica count wins over an earlier \`forrest scale\` (the plan says so).

With update.canary, a new revision starts its canary first and is judged on the traffic the gateways count over the window; a failing canary is rolled back (exit 3, the figures in the JSON), a passing one is promoted, or with pause: true held for forrest promote / forrest abort (exit 19).

Without FORREST_IP, --ip or announce.address, a detected address that differs from the one the app runs at is refused (exit 2); with the default prefix, so is joining another app's prefix.

Several files, or a directory (its *.yml and *.yaml files), deploy app by app in the order their dependsOn declares (as Compose's depends_on), each under its own lock; the first app that fails stops the set, with a summary of what was deployed, what failed and what was not attempted, and that app's exit code. Every file is validated first: a cycle in dependsOn, two files with one app name or a dependsOn naming no file is exit 2 with nothing changed.

Exit codes: 0 done (or nothing to do), 2 bad input, 3 failed (or its canary failed) and rolled back, 4 failed and needs a human, 5 another deploy holds the lock, 6 etcd unreachable, 7 Docker (a host) unreachable (also a host that left the file's hosts list with instances still on it: --forget-host NAME), 8 image not found, 11 too few live gateways (gateways.required, a prefix move toward fewer gateways, or blue/green or a traffic-share canary with no live gateway), 15 etcd denies a key the rollout writes (checked before anything changes), 19 canary passed, waiting for forrest promote or abort, 130 interrupted.`
  static examples = ['<%= config.bin %> deploy deployments/myapp.yml', '<%= config.bin %> deploy deployments/', '<%= config.bin %> deploy db-migrator.yml web.yml', '<%= config.bin %> deploy deployments/myapp.yml --dry-run', 'CI=1 <%= config.bin %> deploy deployments/myapp.yml --wait-lock=2m --json', '<%= config.bin %> deploy deployments/myapp.yml --svg rollout.svg']
  static args = { file: Args.string({ required: true, description: 'Deployment YAML, or a directory of them (more files may follow)' }) }
  // Several files deploy as a set (argv beyond the first).
  static strict = false
  static flags = {
    'dry-run': Flags.boolean({ description: 'Print the plan and change nothing' }),
    'wait-lock': waitLockFlag,
    'allow-unreachable-hosts': allowUnreachableFlag,
    inventory: inventoryFlag,
    'forget-host': Flags.string({ multiple: true, helpValue: 'NAME', description: "A host no longer in the file's hosts list that still has instances by the app's records and does not answer: withdraw their keys and records without touching it (without this flag such a deploy is refused, exit 7)" }),
    svg: Flags.string({ description: 'Also draw the rollout to FILE as an SVG, one lane per instance (also when it fails; see forrest render)', helpValue: 'FILE' }),
  }

  async run(): Promise<RolloutResult | AppsResult> {
    const { args, argv, flags } = await this.parse(Deploy, expandBareWaitLock(this.argv))
    const config = this.forrestConfig(flags)
    const paths = argv as string[]
    const { namesSeveralApps } = await import('../spec/load-set.js')
    if (await namesSeveralApps(paths)) {
      if (flags['forget-host']) throw new ForrestError('BAD_INPUT', '--forget-host is about one app\'s hosts; with several files or a directory nothing was changed', { suggestion: 'Deploy that app\'s file alone with --forget-host NAME, then the set.' })
      const [{ runAppsDeploy }, { deploy }] = await Promise.all([import('./apps-run.js'), import('../verbs/deploy.js')])
      const opts = { waitLock: flags['wait-lock'], allowUnreachableHosts: flags['allow-unreachable-hosts'], dryRun: flags['dry-run'], svg: flags.svg, inventory: flags.inventory }
      return runAppsDeploy(this, config, paths, opts, (ctx, f, o) => deploy(ctx, f.spec, f.file, o))
    }
    // Loaded on use (zod, listr2, the planner) so other commands and --version start fast.
    const [{ loadSpecFile }, { deploy }] = await Promise.all([import('../spec/load.js'), import('../verbs/deploy.js')])
    // Validate the whole file before any I/O against Docker or etcd.
    const spec = await loadSpecFile(args.file, { inventory: flags.inventory })
    return withRolloutSvg(
      flags.svg,
      () => runRolloutVerb(this, config, { command: `deploy ${args.file}`, waitLock: flags['wait-lock'], allowUnreachableHosts: flags['allow-unreachable-hosts'], dryRun: flags['dry-run'] }, (ctx, o) => deploy(ctx, spec, args.file, { ...o, forgetHosts: flags['forget-host'] })),
      // With --json, stdout is the result alone: the line goes to stderr.
      (line) => (this.jsonEnabled() ? this.logToStderr(line) : this.log(line)),
    )
  }
}
