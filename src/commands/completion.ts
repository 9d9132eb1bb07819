import { Args } from '@oclif/core'
import { BaseCommand } from '../base-command.js'

export default class Completion extends BaseCommand {
  static summary = 'Print a shell completion script for bash or zsh.'
  static description = `The script is generated from forrest's own commands and flags, so it always matches this version.

bash: add  eval "$(forrest completion bash)"  to ~/.bashrc, or save the output as /etc/bash_completion.d/forrest.
zsh: add  eval "$(forrest completion zsh)"  to ~/.zshrc after compinit, or save it as _forrest in a directory on $fpath.`
  static examples = ['<%= config.bin %> completion bash > /etc/bash_completion.d/forrest', 'echo \'eval "$(forrest completion zsh)"\' >> ~/.zshrc']
  static args = { shell: Args.string({ required: true, options: ['bash', 'zsh'], description: 'bash or zsh' }) }
  static enableJsonFlag = false

  async run(): Promise<void> {
    const { args } = await this.parse(Completion)
    // The other commands are loaded on use, not at the top: completion is rarely run.
    const [{ COMMANDS_BUT_COMPLETION }, { bashCompletion, completionModel, zshCompletion }] = await Promise.all([import('./registry.js'), import('../completion.js')])
    const model = completionModel({ ...COMMANDS_BUT_COMPLETION, completion: Completion } as never)
    process.stdout.write(args.shell === 'zsh' ? zshCompletion(model) : bashCompletion(model))
  }
}
