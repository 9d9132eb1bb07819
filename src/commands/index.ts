import Launch from './launch.js'
import Stop from './stop.js'

// Explicit command registry: oclif loads this one module instead of scanning a directory.
export const COMMANDS = {
  launch: Launch,
  stop: Stop,
}
