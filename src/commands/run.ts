import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { withContext } from '../context.js'

export default class Run extends BaseCommand {
  static summary = 'Run a one-off command in a container of the app (a console, a backfill).'
  static description = `Starts one container of APP's current revision (or --revision N) with the app's env and secrets on the first host of the app in service (not cordoned, draining or drained: forrest host ls), says on stderr which host and why when it passed one over, runs CMD in it with stdin, stdout and stderr attached (a terminal when there is one), and removes it afterwards. It is never announced and never counted as an instance. Everything after "--" is the command.

Exit codes: the command's own exit code; 2 bad input (no command); 6 etcd unreachable; 7 no host answered; 8 app, revision or image not found; 22 every host of the app is cordoned, draining or drained (nothing started).`
  static examples = ['<%= config.bin %> run myapp -- bin/rails console', '<%= config.bin %> run myapp --revision 3 -- /bin/sh -c "bin/backfill --since 2026-01-01"']
  static enableJsonFlag = false
  static strict = false
  static args = { app: Args.string({ required: true, description: 'App name' }) }
  static flags = {
    revision: Flags.integer({ description: 'Run this revision from history instead of the current one', min: 1 }),
  }

  async run(): Promise<void> {
    const dash = this.argv.indexOf('--')
    const command = dash === -1 ? [] : this.argv.slice(dash + 1)
    const { args, flags } = await this.parse(Run, dash === -1 ? this.argv : this.argv.slice(0, dash))
    const config = this.forrestConfig(flags)
    const { runOneOff } = await import('../verbs/run.js')
    const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY)
    const controller = new AbortController()
    const stop = () => controller.abort()
    // With a terminal, Ctrl-C goes to the command (raw mode); without one, it stops the container.
    if (!tty) process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    if (tty) process.stdin.setRawMode(true)
    try {
      const result = await withContext(config, (ctx) =>
        runOneOff(ctx, {
          app: args.app,
          revision: flags.revision,
          command,
          tty,
          size: tty ? { rows: process.stdout.rows, columns: process.stdout.columns } : undefined,
          stdin: process.stdin,
          stdout: process.stdout,
          stderr: process.stderr,
          signal: controller.signal,
          say: (line) => process.stderr.write(`${line}\n`),
        }),
      )
      if (result.exitCode !== 0) this.exit(result.exitCode)
    } finally {
      if (tty) process.stdin.setRawMode(false)
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
  }
}
