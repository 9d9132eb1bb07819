import type Docker from 'dockerode'
import { ForrestError } from '../errors.js'
import { LogLineSplitter } from './log-lines.js'
import type { TaskOptions, TaskResult } from './runtime.js'

type Call = <T>(what: string, fn: () => Promise<T>, timeoutMs?: number) => Promise<T>

/** How long a task that timed out (or was interrupted) gets between SIGTERM and SIGKILL. */
const TASK_STOP_GRACE_S = 10

/**
 * A container run to completion: created without ports or restart policy, started, its output
 * followed line by line until it exits, its exit code read, and removed afterwards whatever
 * happened (a timeout or an abort stops it first). `call` is the runtime's engine-call wrapper
 * (deadline, unreachable → DOCKER_UNREACHABLE).
 */
export async function runTask(docker: Docker, call: Call, opts: TaskOptions): Promise<TaskResult> {
  const container = await call('container create', async () => {
    try {
      return await docker.createContainer({
        name: opts.name,
        Image: opts.image,
        Cmd: opts.command,
        Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
        Labels: opts.labels,
        HostConfig: { Init: true, RestartPolicy: { Name: 'no' } },
      })
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) {
        throw new ForrestError('IMAGE_NOT_FOUND', `image "${opts.image}" is not on this Docker host`, { cause: err })
      }
      throw err
    }
  })
  let timedOut = false
  const stop = () => container.stop({ t: TASK_STOP_GRACE_S }).catch(() => undefined)
  const timer = setTimeout(() => {
    timedOut = true
    void stop()
  }, opts.timeoutMs)
  const onAbort = () => void stop()
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await call('container start', () => container.start())
    const splitter = new LogLineSplitter()
    const emit = (lines: ReturnType<LogLineSplitter['push']>) => {
      for (const l of lines) opts.onLine?.(l.text, l.stream)
    }
    // Followed logs end when the container exits; they start from its first line.
    const stream = (await call('container logs', () => container.logs({ follow: true, stdout: true, stderr: true, timestamps: true }))) as unknown as AsyncIterable<Buffer>
    for await (const chunk of stream) emit(splitter.push(chunk))
    emit(splitter.end())
    const { StatusCode } = (await call('container wait', () => container.wait(), opts.timeoutMs + (TASK_STOP_GRACE_S + 30) * 1000)) as { StatusCode: number }
    return { id: container.id, exitCode: StatusCode, timedOut }
  } finally {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', onAbort)
    await call('container remove', () => container.remove({ force: true, v: true })).catch(() => undefined)
  }
}
