import Completion from './completion.js'
import { COMMANDS_BUT_COMPLETION } from './registry.js'

// Explicit command registry: oclif loads this one module instead of scanning a directory.
export const COMMANDS = {
  ...COMMANDS_BUT_COMPLETION,
  completion: Completion,
}
