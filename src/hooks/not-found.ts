import type { Hook } from '@oclif/core'
import { formatError, ForrestError } from '../errors.js'
import { closestCommand } from './did-you-mean.js'

/**
 * oclif's command_not_found hook: a mistyped command is bad input (exit 2) with "did you mean",
 * in forrest's own error format. A hook of ours rather than @oclif/plugin-not-found, which asks
 * to run its guess (a prompt a CI job cannot answer) and is loaded by path, outside the bundle.
 */
const notFound: Hook<'command_not_found'> = async function (opts) {
  // With the space topic separator, oclif joins the arguments into the id: "deplyo:app.yml".
  const [typed = opts.id, ...rest] = opts.id.split(':')
  const guess = closestCommand(typed, opts.config.commandIDs.filter((c) => !c.includes(':')))
  const err = new ForrestError('BAD_INPUT', `"${typed}" is not a forrest command`, {
    suggestion: guess ? `Did you mean \`forrest ${[guess, ...rest].join(' ')}\`? (forrest --help lists the commands)` : 'forrest --help lists the commands.',
  })
  process.stderr.write(`${formatError(err)}\n`)
  this.exit(err.exit)
}

export default notFound
