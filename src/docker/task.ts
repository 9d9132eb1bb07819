import type Docker from 'dockerode'
import { ForrestError } from '../errors.js'
import { taskCreateOptions, type TaskIo } from './create-options.js'
import { dockerMessage, type EngineCall } from './docker-errors.js'
import { LogLineSplitter } from './log-lines.js'
import type { AttachedTaskOptions, TaskOptions, TaskResult } from './runtime.js'

/** After the exit, how long the last output in flight is waited for (a deadline, not a pause). */
const OUTPUT_DRAIN_MS = 2000

/** How long a task that timed out (or was interrupted) gets between SIGTERM and SIGKILL. */
const TASK_STOP_GRACE_S = 10

/**
 * A container run to completion: created with the revision's settings but without ports or
 * restart policy, started, its output
 * followed line by line until it exits, its exit code read, and removed afterwards whatever
 * happened (a timeout or an abort stops it first). `call` is the runtime's engine-call wrapper
 * (deadline, unreachable → DOCKER_UNREACHABLE).
 */
export async function runTask(docker: Docker, call: EngineCall, opts: TaskOptions): Promise<TaskResult> {
  const container = await createTask(docker, call, opts, {})
  let timedOut = false
  const stop = () => container.stop({ t: TASK_STOP_GRACE_S }).catch(() => undefined)
  const timer = setTimeout(() => { // release.timeout: the task's deadline
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

/**
 * Creates a task's container with the revision's container settings (create-options.ts; no port,
 * no restart, an init process as PID 1) and joins its other networks before it starts, as an
 * instance does. A container that could not be set up is removed again.
 */
async function createTask(
  docker: Docker,
  call: EngineCall,
  opts: Pick<TaskOptions, 'name' | 'image' | 'env' | 'command' | 'labels' | 'settings'>,
  io: TaskIo,
  consoleSize?: { rows: number; columns: number },
): Promise<Docker.Container> {
  const { create, connect } = taskCreateOptions({ ...opts, io, consoleSize })
  const container = await call('container create', async () => {
    try {
      return await docker.createContainer(create)
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw notFound(opts.image, err)
      throw err
    }
  })
  try {
    for (const join of connect) {
      await call('network connect', () => docker.getNetwork(join.network).connect({ Container: container.id, EndpointConfig: { Aliases: join.aliases } }))
    }
  } catch (err) {
    await call('container remove', () => container.remove({ force: true, v: true })).catch(() => undefined)
    if ((err as { statusCode?: number }).statusCode === 404) throw notFound(opts.image, err)
    throw err
  }
  return container
}

/** A 404 at create or connect: the image, or a network of the settings, is not on this host. */
function notFound(image: string, err: unknown): ForrestError {
  const message = dockerMessage(err)
  if (/network/i.test(message)) {
    return new ForrestError('HOST_NOT_READY', `${message}: a network the container settings name is not on this Docker host; nothing was run`, {
      cause: err,
      suggestion: 'Create it there (docker network create NAME, or your compose project), then run the command again.',
    })
  }
  return new ForrestError('IMAGE_NOT_FOUND', `image "${image}" is not on this Docker host`, {
    cause: err,
    suggestion: 'Deploy the revision to this host first (forrest deploy), or name a revision that runs here with --revision.',
  })
}

/**
 * A container with the caller's stdio attached (docker run -i [-t] --rm): attached before it
 * starts so no output is lost, stdin piped in and closed when it ends (StdinOnce), stdout and
 * stderr demultiplexed (one stream with a TTY), the exit code returned, removed afterwards.
 */
export async function runAttached(docker: Docker, call: EngineCall, opts: AttachedTaskOptions): Promise<TaskResult> {
  const withStdin = Boolean(opts.stdin)
  const container = await createTask(docker, call, opts, { Tty: opts.tty, OpenStdin: withStdin, StdinOnce: withStdin, AttachStdin: withStdin, AttachStdout: true, AttachStderr: true }, opts.tty ? opts.size : undefined)
  const onAbort = () => void container.stop({ t: TASK_STOP_GRACE_S }).catch(() => undefined)
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const stream = (await call('container attach', () => container.attach({ stream: true, stdin: withStdin, stdout: true, stderr: true, hijack: withStdin }))) as NodeJS.ReadWriteStream & { end(): void }
    const outputDone = new Promise<void>((resolve) => {
      stream.on('end', resolve)
      stream.on('close', resolve)
      stream.on('error', () => resolve())
    })
    if (opts.tty) stream.pipe(opts.stdout, { end: false })
    else container.modem.demuxStream(stream, opts.stdout, opts.stderr)
    // Wait is asked for before start, so a command that exits at once is not missed.
    const exited = call('container wait', () => container.wait({ condition: 'next-exit' }), 24 * 3600_000) as Promise<{ StatusCode: number }>
    await call('container start', () => container.start())
    if (opts.tty && opts.size) await container.resize({ h: opts.size.rows, w: opts.size.columns }).catch(() => undefined)
    if (opts.stdin) {
      opts.stdin.on('data', (chunk) => stream.write(chunk))
      opts.stdin.once('end', () => stream.end())
    }
    const { StatusCode } = await exited
    // The last output may still be in flight after the exit: wait for the stream's end, briefly.
    await Promise.race([outputDone, new Promise((r) => setTimeout(r, OUTPUT_DRAIN_MS).unref())]) // the drain deadline
    return { id: container.id, exitCode: StatusCode, timedOut: false }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
    opts.stdin?.removeAllListeners('data')
    opts.stdin?.pause()
    await call('container remove', () => container.remove({ force: true, v: true })).catch(() => undefined)
  }
}
