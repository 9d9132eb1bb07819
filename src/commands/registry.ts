import Gateway from './gateway.js'
import Deploy from './deploy.js'
import Launch from './launch.js'
import Stop from './stop.js'
import Scale from './scale.js'
import Rollback from './rollback.js'
import Promote from './promote.js'
import Abort from './abort.js'
import Status from './status.js'
import History from './history.js'
import Diff from './diff.js'
import Logs from './logs.js'
import Render from './render.js'
import Run from './run.js'
import HostLs from './host/ls.js'
import HostCordon from './host/cordon.js'
import HostUncordon from './host/uncordon.js'
import HostDrain from './host/drain.js'

/**
 * Every command but `completion`, which reads this list to write its scripts (and adds itself):
 * index.ts registers these plus completion, so neither module imports the other.
 */
export const COMMANDS_BUT_COMPLETION = {
  gateway: Gateway,
  deploy: Deploy,
  launch: Launch,
  stop: Stop,
  scale: Scale,
  rollback: Rollback,
  promote: Promote,
  abort: Abort,
  status: Status,
  history: History,
  diff: Diff,
  logs: Logs,
  render: Render,
  run: Run,
  'host:ls': HostLs,
  'host:cordon': HostCordon,
  'host:uncordon': HostUncordon,
  'host:drain': HostDrain,
}
