import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { withContext } from '../context.js'
import { ForrestError } from '../errors.js'
import { parseDuration } from '../spec/duration.js'
import type { LogEntry, LogSource, LogsResult } from '../verbs/logs.js'

export default class Logs extends BaseCommand {
  static summary = "The app's instances' logs merged, each line prefixed with its instance."
  static description = `Lines of every instance of APP on every host of its deployment file (running or stopped, this environment's only), in time order, stdout and stderr together, as "name | line" ("host/name | line" once instances run on several hosts). A host that does not answer is named on stderr and left out. With --follow, new lines as they come, including from instances started meanwhile, until Ctrl-C (exit 0).

With --json: without --follow one object {app, instances, lines: [{instance, host, stream, time, text}]}; with --follow one such line object per output line (NDJSON).

Exit codes: 0 ok, 2 bad flag, 6 etcd unreachable, 7 no host of the app answered, 8 app not found.`
  static examples = ['<%= config.bin %> logs myapp', '<%= config.bin %> logs myapp --follow', '<%= config.bin %> logs myapp --since 10m --tail 50 --timestamps', '<%= config.bin %> logs myapp --process worker']
  static args = { app: Args.string({ required: true, description: 'App name' }) }
  static flags = {
    follow: Flags.boolean({ char: 'f', description: 'Keep printing new lines until Ctrl-C' }),
    tail: Flags.integer({ char: 'n', description: 'Lines per instance to show from before now (default: all)', min: 0 }),
    since: Flags.string({ description: 'Only lines from the last DURATION (e.g. 10m)', helpValue: 'DURATION' }),
    timestamps: Flags.boolean({ char: 't', description: "Show Docker's timestamp of each line" }),
    process: Flags.string({ char: 'p', description: 'Only the instances of this process (web, or a worker of processes:)', helpValue: 'PROCESS' }),
  }

  async run(): Promise<(LogsResult & { lines: LogEntry[] }) | undefined> {
    const { args, flags } = await this.parse(Logs)
    const config = this.forrestConfig(flags)
    const sinceMs = flags.since === undefined ? undefined : parseDuration(flags.since)
    if (flags.since !== undefined && sinceMs === undefined) throw new ForrestError('BAD_INPUT', `--since "${flags.since}" is not a duration`, { suggestion: 'Write e.g. --since=10m or --since=1h30m.' })
    const { appLogs, logPrefixer } = await import('../verbs/logs.js')
    const json = this.jsonEnabled()
    const prefix = logPrefixer({ timestamps: flags.timestamps })
    const collected: LogEntry[] = []
    let instances = 0
    const sink = {
      sources: (list: LogSource[]) => {
        instances += list.length
        prefix.add(list)
      },
      line: (e: LogEntry) => {
        if (!json) this.log(prefix.format(e))
        // Not this.log: oclif prints nothing through it under --json.
        else if (flags.follow) process.stdout.write(`${JSON.stringify(e)}\n`)
        else collected.push(e)
      },
      // On stderr also with --json: stdout stays the result.
      warn: (m: string) => void process.stderr.write(`Warning: ${m}\n`),
      // Someone at a terminal sees why nothing printed; a pipe or a script gets no extra line.
      caughtUp: (n: number) => {
        if (n > 0 || json || !instances || !(process.stdout.isTTY || process.stderr.isTTY)) return
        const within = flags.since ? ` in the last ${flags.since}` : ''
        this.logToStderr(`${args.app}: its ${instances === 1 ? 'instance has' : `${instances} instances have`} written no log lines${within}${flags.follow ? '; waiting for new ones (Ctrl-C to stop)' : ''}`)
      },
    }
    // Ctrl-C ends a follow normally; a second one exits at once (the default handler).
    const controller = new AbortController()
    const stop = () => controller.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      const opts = { follow: flags.follow, tail: flags.tail, since: sinceMs === undefined ? undefined : new Date(Date.now() - sinceMs), signal: controller.signal, ...(flags.process ? { process: flags.process } : {}) }
      const result = await withContext(config, (ctx) => appLogs(ctx, args.app, opts, sink))
      if (!result.instances.length && !json) this.logToStderr(`${args.app} has no instances`)
      return json && !flags.follow ? { ...result, lines: collected } : undefined
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
  }
}
