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
    // The registry imports this command, so it is loaded on use rather than at the top.
    const [{ COMMANDS }, { bashCompletion, completionModel, zshCompletion }] = await Promise.all([import('./index.js'), import('../completion.js')])
    const model = completionModel(COMMANDS as never)
    process.stdout.write(args.shell === 'zsh' ? zshCompletion(model) : bashCompletion(model))
  }
}
