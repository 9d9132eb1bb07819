import Gateway from './gateway.js'
import Deploy from './deploy.js'
import Launch from './launch.js'
import Stop from './stop.js'

// Explicit command registry: oclif loads this one module instead of scanning a directory.
export const COMMANDS = {
  gateway: Gateway,
  deploy: Deploy,
  launch: Launch,
  stop: Stop,
}
