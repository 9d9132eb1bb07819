import { describe, expect, it } from 'vitest'
import { LogLineSplitter, normalizeTime } from '../../src/docker/log-lines.js'
import { logPrefixer, mergeByTime } from '../../src/verbs/logs.js'

/** One frame of Docker's multiplexed stream: stream byte, 3 zero bytes, uint32 BE size, payload. */
const frame = (stream: 1 | 2, text: string) => {
  const body = Buffer.from(text, 'utf8')
  const head = Buffer.alloc(8)
  head[0] = stream
  head.writeUInt32BE(body.length, 4)
  return Buffer.concat([head, body])
}
const T1 = '2026-11-25T14:00:00.000000001Z'
const T2 = '2026-11-25T14:00:00.5Z'

describe('LogLineSplitter', () => {
  it('splits frames into lines with their stream and timestamp', () => {
    const s = new LogLineSplitter()
    const out = [...s.push(Buffer.concat([frame(1, `${T1} hello\n`), frame(2, `${T2} oops\n`)])), ...s.end()]
    expect(out).toEqual([
      { stream: 'stdout', time: T1, text: 'hello' },
      { stream: 'stderr', time: '2026-11-25T14:00:00.500000000Z', text: 'oops' },
    ])
  })

  it('copes with chunks cut anywhere: inside a header, a line, a UTF-8 character', () => {
    const whole = Buffer.concat([frame(1, `${T1} héllo wörld\n${T1} second`), frame(1, ` half\n`), frame(2, `${T2} last`)])
    for (let size = 1; size <= 11; size++) {
      const s = new LogLineSplitter()
      const out = []
      for (let i = 0; i < whole.length; i += size) out.push(...s.push(whole.subarray(i, i + size)))
      out.push(...s.end())
      expect(out.map((l) => `${l.stream}:${l.text}`), `chunk size ${size}`).toEqual(['stdout:héllo wörld', 'stdout:second half', 'stderr:last'])
    }
  })

  it('reads a TTY container’s raw stream as stdout', () => {
    const s = new LogLineSplitter()
    expect([...s.push(Buffer.from(`${T1} raw line\r\nno stamp\n`)), ...s.end()]).toEqual([
      { stream: 'stdout', time: T1, text: 'raw line' },
      { stream: 'stdout', time: '', text: 'no stamp' },
    ])
  })

  it('normalises timestamps to 9 fraction digits so they sort as strings', () => {
    expect(normalizeTime('2026-11-25T14:00:00Z')).toBe('2026-11-25T14:00:00.000000000Z')
    expect(normalizeTime('2026-11-25T14:00:00.12Z')).toBe('2026-11-25T14:00:00.120000000Z')
    expect(normalizeTime('not-a-time')).toBeUndefined()
  })
})

describe('forrest logs: merge and prefix', () => {
  const a = { name: 'myapp-r2-1', host: '10.0.0.1' }
  const b = { name: 'myapp-r2-10', host: '10.0.0.1' }
  const line = (time: string, text: string) => ({ stream: 'stdout' as const, time, text })

  it('merges instances by time, keeping each instance’s order for equal times', () => {
    const merged = mergeByTime([
      { source: a, lines: [line('2', 'a1'), line('4', 'a2'), line('4', 'a3')] },
      { source: b, lines: [line('1', 'b1'), line('4', 'b2')] },
    ])
    expect(merged.map((m) => m.line.text)).toEqual(['b1', 'a1', 'a2', 'a3', 'b2'])
  })

  it('prefixes "name | ", padded to the longest name; the host only once there are several', () => {
    const p = logPrefixer({ timestamps: false })
    p.add([a, b])
    expect(p.format({ instance: a.name, host: a.host, ...line(T1, 'hi') })).toBe('myapp-r2-1  | hi')
    expect(p.format({ instance: b.name, host: b.host, ...line(T1, 'hi') })).toBe('myapp-r2-10 | hi')
    p.add([{ name: 'myapp-r2-2', host: '10.0.0.2' }])
    expect(p.format({ instance: 'myapp-r2-2', host: '10.0.0.2', ...line(T1, 'x') })).toBe('10.0.0.2/myapp-r2-2  | x')
    expect(p.format({ instance: b.name, host: b.host, ...line(T1, 'x') })).toBe('10.0.0.1/myapp-r2-10 | x')
  })

  it('shows the timestamp with --timestamps', () => {
    const p = logPrefixer({ timestamps: true })
    p.add([a])
    expect(p.format({ instance: a.name, host: a.host, ...line(T1, 'hi') })).toBe(`myapp-r2-1 | ${T1} hi`)
  })
})
