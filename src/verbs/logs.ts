import createDebug from 'debug'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Context } from '../context.js'
import type { ContainerInfo, LogLine } from '../docker/runtime.js'
import { ForrestError, toForrestError } from '../errors.js'
import { processNames, WEB } from '../spec/processes.js'
import { hostsOf, type Host } from '../hosts/fleet.js'
import { isOwnRollout, LABEL } from '../labels.js'
import { appNotFound, recordsOf } from '../engine/app-records.js'

const debug = createDebug('forrest:logs')

export interface LogSource {
  /** Instance (container) name. */
  name: string
  /** The host it runs on, as the deployment file names it ("local" without a hosts: list). */
  host: string
}

export interface LogEntry extends LogLine {
  instance: string
  host: string
}

export interface LogsOptions {
  follow: boolean
  /** Last N lines per instance before following; all when absent. */
  tail?: number
  since?: Date
  signal: AbortSignal
  /** Only this process's instances (web: those without a process label). */
  process?: string
  /** While following, how often to look for instances that started since (a deploy running meanwhile). */
  pollMs?: number
}

export interface LogSink {
  /** Called with every instance before its first line (the whole first set at once). */
  sources(list: LogSource[]): void
  line(entry: LogEntry): void
  /** A host that did not answer: its instances are left out, the others are shown. */
  warn(message: string): void
  /** The lines from before now are out (a follow goes on from here): how many there were. */
  caughtUp?(lines: number): void
}

export interface LogsResult {
  app: string
  instances: LogSource[]
  /** Lines printed. */
  count: number
}

/**
 * `forrest logs APP [--follow]`: the logs of this environment's containers of the app on every host
 * of its deployment file, running or stopped, matched on their owner labels like every rollout does. What is already there is merged
 * by Docker's timestamps up to one instant; a follow then streams each instance from that instant
 * on (so no line is shown twice or lost at the seam), and picks up instances started meanwhile,
 * until the signal aborts.
 */
export async function appLogs(ctx: Context, app: string, opts: LogsOptions, sink: LogSink): Promise<LogsResult> {
  const records = recordsOf(ctx)
  const [identity, current, revisions] = await Promise.all([ctx.identity(), records.current(app), records.revisions(app)])
  // The hosts of the current revision's file; an app forrest has no record of, the local engine only.
  const spec = revisions.find((r) => r.revision === current?.revision)?.spec
  const hosts = hostsOf(ctx, spec ?? { announce: {} })
  if (opts.process !== undefined && spec && !processNames(spec).includes(opts.process)) {
    throw new ForrestError('BAD_INPUT', `${app} has no process "${opts.process}"; its processes: ${processNames(spec).join(', ')}`, { suggestion: `forrest logs ${app} --process ${processNames(spec).at(-1)}` })
  }
  const ofProcess = (c: ContainerInfo) => opts.process === undefined || (c.labels[LABEL.process] ?? WEB) === opts.process
  type Found = { c: ContainerInfo; host: Host }
  /** Every host's containers of the app; a host that does not answer is warned about, unless none answers (then its error, exit 7). */
  const listOwn = async (warn: (m: string) => void): Promise<Found[]> => {
    const per = await Promise.all(
      hosts.map((host) =>
        host.runtime.list({ [LABEL.managed]: 'true', [LABEL.app]: app }).then(
          (cs) => cs.filter((c) => isOwnRollout(c.labels, identity.owner, app) && ofProcess(c)).map((c) => ({ c, host })),
          (err: unknown) => toForrestError(err),
        ),
      ),
    )
    const failed = per.filter((p) => !Array.isArray(p))
    if (failed.length === per.length) throw failed[0]
    per.forEach((p, i) => Array.isArray(p) || warn(`${hosts[i]!.name} (${hosts[i]!.endpoint}) did not answer, its instances are left out: ${p.message}`))
    return per.flatMap((p) => (Array.isArray(p) ? p : [])).sort((a, b) => a.host.name.localeCompare(b.host.name) || a.c.name.localeCompare(b.c.name))
  }
  const first = await listOwn((m) => sink.warn(m))
  if (!first.length && !current) throw appNotFound(app, await records.apps())

  const sourceOf = ({ c, host }: Found): LogSource => ({ name: c.name, host: host.name })
  const sources = first.map(sourceOf)
  sink.sources(sources)
  let lines = 0
  const emit = (src: LogSource) => (l: LogLine) => {
    lines++
    sink.line({ instance: src.name, host: src.host, ...l })
  }

  const cutoff = new Date()
  const history = await Promise.all(
    first.map(({ c, host }) => collect(host.runtime.logLines(c.id, { tail: opts.tail, since: opts.since, until: opts.follow ? cutoff : undefined }))),
  )
  for (const { line, source } of mergeByTime(history.map((ls, i) => ({ source: sources[i]!, lines: ls })))) emit(source)(line)
  sink.caughtUp?.(lines)
  if (!opts.follow) return { app, instances: sources, count: lines }

  // A stream that fails (Docker went away) ends the whole follow with its error.
  const stop = new AbortController()
  const signal = AbortSignal.any([opts.signal, stop.signal])
  let failure: unknown
  const seen = new Set(first.map(({ c, host }) => `${host.name} ${c.id}`))
  const follow = ({ c, host }: Found, src: LogSource) =>
    drain(host.runtime.logLines(c.id, { follow: true, since: cutoff, signal }), emit(src)).catch((err) => {
      failure ??= err
      stop.abort()
    })
  const streams = first.map((f, i) => follow(f, sources[i]!))
  try {
    while (!signal.aborted) {
      await sleep(opts.pollMs ?? 1000, undefined, { signal }).catch(() => undefined)
      if (signal.aborted) break
      // A host that stops answering meanwhile is skipped until it answers again.
      const added = (await listOwn((m) => debug(m)).catch(() => [])).filter(({ c, host }) => !seen.has(`${host.name} ${c.id}`))
      if (!added.length) continue
      const more = added.map(sourceOf)
      sink.sources(more)
      sources.push(...more)
      added.forEach((f, i) => {
        seen.add(`${f.host.name} ${f.c.id}`)
        streams.push(follow(f, more[i]!))
      })
    }
  } finally {
    stop.abort()
    await Promise.all(streams)
  }
  if (failure) throw failure
  return { app, instances: sources, count: lines }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

async function drain<T>(it: AsyncIterable<T>, fn: (x: T) => void): Promise<void> {
  for await (const x of it) fn(x)
}

/** Lines of several instances in time order; equal times keep each instance's own order. Pure. */
export function mergeByTime(inputs: Array<{ source: LogSource; lines: LogLine[] }>): Array<{ source: LogSource; line: LogLine }> {
  const all = inputs.flatMap(({ source, lines }) => lines.map((line) => ({ source, line })))
  // Array.prototype.sort is stable: lines of one instance with equal (or no) times stay in order.
  return all.sort((a, b) => (a.line.time < b.line.time ? -1 : a.line.time > b.line.time ? 1 : 0))
}

/**
 * `name | text`, names padded to one width like docker compose does; the host is shown once the
 * instances run on more than one. No I/O.
 */
export function logPrefixer(opts: { timestamps: boolean }) {
  let width = 0
  const hosts = new Set<string>()
  const label = (e: { instance: string; host: string }) => (hosts.size > 1 ? `${e.host}/${e.instance}` : e.instance)
  const sources: LogSource[] = []
  return {
    add(list: LogSource[]): void {
      sources.push(...list)
      for (const s of list) hosts.add(s.host)
      width = Math.max(0, ...sources.map((s) => label({ instance: s.name, host: s.host }).length))
    },
    format(e: LogEntry): string {
      return `${label(e).padEnd(width)} | ${opts.timestamps && e.time ? `${e.time} ` : ''}${e.text}`
    },
  }
}
