import { readFile, writeFile } from 'node:fs/promises'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { ForrestError } from '../errors.js'

export default class Render extends BaseCommand {
  static summary = "Draw a rollout from a deploy's --json result: an SVG with one lane per instance."
  static description = `Each lane shows when its instance was started, healthy, announced and acknowledged by the gateways, then serving; or, for a retired one, withdrawn, drained and stopped. Reads the output of \`forrest deploy|scale|rollback --json\` (a failed deploy's error output too). Reads nothing else: no etcd or Docker. \`forrest deploy FILE --svg OUT\` does the same right after a deploy.

Exit codes: 0 written, 2 no such file or not a rollout result.`
  static examples = ['<%= config.bin %> deploy deployments/myapp.yml --json > deploy.json; <%= config.bin %> render deploy.json --svg rollout.svg']
  static args = { result: Args.string({ required: true, description: "A deploy's --json output (- for stdin)" }) }
  static flags = { svg: Flags.string({ description: 'Write the SVG here (default: stdout)', helpValue: 'FILE' }) }

  async run(): Promise<{ svg: string; steps: number } | undefined> {
    const { args, flags } = await this.parse(Render)
    const { renderRolloutSvg, timelineFromJson } = await import('../report/rollout-svg.js')
    const text = await (args.result === '-' ? readStdin() : readFile(args.result, 'utf8')).catch((err: NodeJS.ErrnoException) => {
      throw new ForrestError('BAD_INPUT', `cannot read ${args.result}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, { cause: err, suggestion: 'Pass the file `forrest deploy FILE --json` wrote.' })
    })
    const timeline = timelineFromJson(text, args.result)
    const svg = renderRolloutSvg(timeline)
    if (!flags.svg) {
      process.stdout.write(svg)
      return undefined
    }
    await writeFile(flags.svg, svg)
    const n = timeline.timings.steps.length
    if (!this.jsonEnabled()) this.log(`${flags.svg}: ${timeline.app}, ${n} step${n === 1 ? '' : 's'}`)
    return { svg: flags.svg, steps: timeline.timings.steps.length }
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
