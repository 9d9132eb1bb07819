import type Docker from 'dockerode'
import type { EngineCall } from './docker-errors.js'
import type { ExecResult } from './runtime.js'

/** Most output of a check kept (its last bytes say why it failed). */
const MAX_OUTPUT = 4096

/**
 * A command run inside a running container (a worker's health.command, like Compose's
 * healthcheck test): its exit code and output. Past the timeout it counts as failed (exit -1);
 * Docker gives no way to kill an exec, so a hung check runs on inside the container.
 */
export async function execIn(docker: Docker, call: EngineCall, id: string, command: string[], timeoutMs: number): Promise<ExecResult> {
  const exec = await call('container exec', () => docker.getContainer(id).exec({ Cmd: command, AttachStdout: true, AttachStderr: true }))
  const stream = await call('exec start', () => exec.start({ hijack: true, stdin: false }))
  const chunks: Buffer[] = []
  const ended = new Promise<'ended'>((resolve) => {
    stream.on('data', (d: Buffer) => chunks.push(d))
    stream.on('end', () => resolve('ended'))
    stream.on('error', () => resolve('ended'))
  })
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))) // the check's own timeout
  const how = await Promise.race([ended, timedOut])
  clearTimeout(timer)
  const output = demux(Buffer.concat(chunks)).slice(-MAX_OUTPUT)
  if (how === 'timeout') {
    stream.destroy()
    return { exitCode: -1, output: `${output}(no exit within ${timeoutMs}ms)` }
  }
  const info = await call('exec inspect', () => exec.inspect())
  return { exitCode: info.ExitCode ?? -1, output }
}

/** Docker's multiplexed stream (8-byte frame headers, no TTY) as text. */
function demux(buf: Buffer): string {
  let out = ''
  for (let i = 0; i + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(i + 4)
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8')
    i += 8 + size
  }
  return out
}
