import type Docker from 'dockerode'
import type { DockerError, EngineCall } from './docker-errors.js'
import { LogLineSplitter } from './log-lines.js'
import type { LogLine, LogOptions } from './runtime.js'
import { unreadableLogs } from './settings-check.js'

/** Docker's since/until: seconds since the epoch, with a fraction down to nanoseconds. */
const unixTime = (d: Date | undefined) => (d ? (d.getTime() / 1000).toFixed(3) : undefined)

/** Docker's multiplexed log stream: 8-byte frame headers (stream, 0, 0, 0, size32) + payload. */
export function demuxLogs(buf: Buffer): string {
  let out = ''
  let i = 0
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4)
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8')
    i += 8 + size
  }
  return i === 0 ? buf.toString('utf8') : out
}

/** The last lines of a container's log, both streams; '' when they cannot be read. */
export async function logsOf(docker: Docker, id: string, tail: number): Promise<string> {
  try {
    const buf = (await docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer
    return demuxLogs(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)))
  } catch {
    return ''
  }
}

/** A container's log lines, with timestamps; following until the signal aborts when asked to. */
export async function* logLinesOf(docker: Docker, call: EngineCall, hostName: string | undefined, id: string, opts: LogOptions): AsyncIterable<LogLine> {
  // Absent options are left out rather than sent empty (docker-modem would send `tail=`).
  const query = Object.fromEntries(
    Object.entries({ stdout: true, stderr: true, timestamps: true, tail: opts.tail, since: unixTime(opts.since), until: unixTime(opts.until) }).filter(([, v]) => v !== undefined),
  )
  const splitter = new LogLineSplitter()
  const container = docker.getContainer(id)
  const gone = (err: unknown) => (err as DockerError).statusCode === 404
  if (!opts.follow) {
    const buf = await call('container logs', () => container.logs({ ...query, follow: false })).catch((err) => {
      if (gone(err)) return Buffer.alloc(0)
      throw unreadableLogs(err, id, hostName) ?? err
    })
    yield* splitter.push(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)))
    yield* splitter.end()
    return
  }
  const stream = await call('container logs', () => container.logs({ ...query, follow: true })).catch((err) => {
    if (gone(err)) return undefined
    throw unreadableLogs(err, id, hostName) ?? err
  })
  if (!stream) return
  const destroy = () => (stream as NodeJS.ReadableStream & { destroy(): void }).destroy()
  // An abort (Ctrl-C) ends the stream early: that is the normal end of a follow.
  if (opts.signal?.aborted) destroy()
  opts.signal?.addEventListener('abort', destroy, { once: true })
  try {
    for await (const chunk of stream) yield* splitter.push(chunk as Buffer)
  } catch (err) {
    if (!opts.signal?.aborted) throw err
  } finally {
    opts.signal?.removeEventListener('abort', destroy)
    destroy()
  }
  yield* splitter.end()
}
