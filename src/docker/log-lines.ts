import { StringDecoder } from 'node:string_decoder'

export type LogStreamName = 'stdout' | 'stderr'

export interface LogLine {
  stream: LogStreamName
  /** Docker's timestamp of the line, RFC 3339 UTC with 9 fraction digits, so strings sort by time. */
  time: string
  text: string
}

const STREAMS: Record<number, LogStreamName> = { 1: 'stdout', 2: 'stderr' }
const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/

/** "…:05.12Z" → "…:05.120000000Z": Docker trims trailing zeros in some versions, which breaks string order. */
export function normalizeTime(stamp: string): string | undefined {
  const m = STAMP.exec(stamp)
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}Z` : undefined
}

/**
 * Turns Docker's log stream (asked for with timestamps=1) into lines, chunk by chunk. Without a
 * TTY the stream is multiplexed: 8-byte frame headers (stream 1|2, 0, 0, 0, size uint32 BE) that
 * a network chunk may cut anywhere; with a TTY it is raw stdout. Which one is decided from the
 * first bytes, as the docker CLI does from the container's config. A frame may also end
 * mid-line (and mid-character), so each stream keeps its own unfinished line and decoder.
 */
export class LogLineSplitter {
  private pending: Buffer = Buffer.alloc(0)
  private mode?: 'mux' | 'raw'
  private readonly partial: Record<LogStreamName, string> = { stdout: '', stderr: '' }
  private readonly decoders: Record<LogStreamName, StringDecoder> = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') }

  push(chunk: Buffer): LogLine[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    const out: LogLine[] = []
    if (!this.mode) {
      if (this.pending.length < 8) return out
      const h = this.pending
      this.mode = (h[0] === 1 || h[0] === 2) && h[1] === 0 && h[2] === 0 && h[3] === 0 ? 'mux' : 'raw'
    }
    if (this.mode === 'raw') {
      this.text('stdout', this.pending, out)
      this.pending = Buffer.alloc(0)
      return out
    }
    let i = 0
    while (i + 8 <= this.pending.length) {
      const size = this.pending.readUInt32BE(i + 4)
      if (i + 8 + size > this.pending.length) break
      this.text(STREAMS[this.pending[i]!] ?? 'stdout', this.pending.subarray(i + 8, i + 8 + size), out)
      i += 8 + size
    }
    this.pending = this.pending.subarray(i)
    return out
  }

  /** The stream ended: whatever is left is the last line of each stream. */
  end(): LogLine[] {
    const out: LogLine[] = []
    if (!this.mode && this.pending.length) this.text('stdout', this.pending, out)
    for (const s of ['stdout', 'stderr'] as const) {
      const rest = this.partial[s] + this.decoders[s].end()
      this.partial[s] = ''
      if (rest) out.push(parseLine(s, rest))
    }
    return out
  }

  private text(stream: LogStreamName, bytes: Buffer, out: LogLine[]): void {
    const lines = (this.partial[stream] + this.decoders[stream].write(bytes)).split('\n')
    this.partial[stream] = lines.pop()!
    for (const l of lines) out.push(parseLine(stream, l))
  }
}

function parseLine(stream: LogStreamName, raw: string): LogLine {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
  const sp = line.indexOf(' ')
  const time = sp > 0 ? normalizeTime(line.slice(0, sp)) : normalizeTime(line)
  if (time === undefined) return { stream, time: '', text: line }
  return { stream, time, text: sp > 0 ? line.slice(sp + 1) : '' }
}
