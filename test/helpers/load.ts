import { request } from 'node:http'
import { SERVER_HEADER } from './haproxy.js'

export interface LoadSample {
  /** When the request was sent and when its response (or error) came back (ms epoch). */
  sentAt: number
  doneAt: number
  /** HTTP status; 0 for a connection error or timeout. */
  status: number
  body: string
  /** HAProxy server (forrest instance) that answered, from SERVER_HEADER. */
  server?: string
  error?: string
}

export interface LoadReport {
  samples: LoadSample[]
  sent: number
  ok: number
  non2xx: number
  errors: number
}

export interface LoadOptions {
  /** e.g. http://127.0.0.1:8080/ */
  url: string
  concurrency?: number
  /** Pause after each response in every loop: bounds the rate (and TIME_WAIT sockets). */
  pauseMs?: number
  /** Hard stop even if stop() is never called. */
  maxDurationMs: number
  timeoutMs?: number
  /** Extra request headers (e.g. a Host header to pick an app behind one frontend). */
  headers?: Record<string, string>
}

/** One GET on a fresh connection (keep-alive off: every request goes through HAProxy's balancing). */
function getOnce(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<LoadSample> {
  const sentAt = Date.now()
  return new Promise((resolve) => {
    const done = (s: Omit<LoadSample, 'sentAt' | 'doneAt'>) => resolve({ sentAt, doneAt: Date.now(), ...s })
    const req = request(url, { agent: false, headers: { ...headers, connection: 'close' }, timeout: timeoutMs }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => done({ status: res.statusCode ?? 0, body: body.trim(), server: res.headers[SERVER_HEADER] as string | undefined }))
      res.on('error', (err) => done({ status: 0, body: '', error: err.message }))
    })
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs}ms`)))
    req.on('error', (err: NodeJS.ErrnoException) => done({ status: 0, body: '', error: err.code ?? err.message }))
    req.end()
  })
}

/**
 * Closed-loop load: `concurrency` loops, each sending one request at a time, bounded in time.
 * Every request and its outcome is kept, so a test can ask what was answered when, and by whom.
 */
export function startLoad(opts: LoadOptions) {
  const samples: LoadSample[] = []
  const deadline = Date.now() + opts.maxDurationMs
  let stopped = false
  const loops = Array.from({ length: opts.concurrency ?? 8 }, async () => {
    while (!stopped && Date.now() < deadline) {
      samples.push(await getOnce(opts.url, opts.timeoutMs ?? 5000, opts.headers))
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs)) // rate bound
    }
  })
  const report = (): LoadReport => {
    const ok = samples.filter((s) => s.status >= 200 && s.status < 300).length
    const errors = samples.filter((s) => s.status === 0).length
    return { samples, sent: samples.length, ok, errors, non2xx: samples.length - ok - errors }
  }
  return {
    samples,
    report,
    stop: async (): Promise<LoadReport> => {
      stopped = true
      await Promise.all(loops)
      return report()
    },
  }
}
