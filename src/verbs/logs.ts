import { setTimeout as sleep } from 'node:timers/promises'
import type { Context } from '../context.js'
import type { ContainerInfo, LogLine } from '../docker/runtime.js'
import { isOwnRollout, LABEL } from '../labels.js'
import { hostsOf, type Host } from '../hosts/fleet.js'
import { appNotFound, recordsOf } from '../rollout/app-records.js'

export interface LogSource {
  /** Instance (container) name. */
  name: string
  /** The host it runs on (its name in the deployment file's hosts:, or "local"). */
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
  /** While following, how often to look for instances that started since (a deploy running meanwhile). */
  pollMs?: number
}

export interface LogSink {
  /** Called with every instance before its first line (the whole first set at once). */
  sources(list: LogSource[]): void
  line(entry: LogEntry): void
}

export interface LogsResult {
  app: string
  instances: LogSource[]
  /** Lines printed. */
  count: number
}

/**
 * `forrest logs APP [--follow]`: the logs of this environment's containers of the app, running or
 * stopped, matched on their owner labels like every rollout does. What is already there is merged
 * by Docker's timestamps up to one instant; a follow then streams each instance from that instant
 * on (so no line is shown twice or lost at the seam), and picks up instances started meanwhile,
 * until the signal aborts.
 */
export async function appLogs(ctx: Context, app: string, opts: LogsOptions, sink: LogSink): Promise<LogsResult> {
  const records = recordsOf(ctx)
  const [identity, current] = await Promise.all([ctx.identity(), records.current(app)])
  // Every host of the app's current revision (the local engine for an app without hosts:).
  const spec = current && (await records.revision(app, current.revision))?.spec
  const hosts = hostsOf(ctx, spec ?? { announce: {} })
  const hostOf = new Map<string, Host>()
  const listOwn = async () =>
    (
      await Promise.all(
        hosts.map(async (h) =>
          (await h.runtime.list({ [LABEL.managed]: 'true', [LABEL.app]: app })).filter((c) => isOwnRollout(c.labels, identity.owner, app)).map((c) => (hostOf.set(c.id, h), c)),
        ),
      )
    ).flat()
  const first = sortByName(await listOwn())
  if (!first.length && !current) throw appNotFound(app, await records.apps())
  const runtimeOf = (c: ContainerInfo) => hostOf.get(c.id)!.runtime

  const sourceOf = (c: ContainerInfo): LogSource => ({ name: c.name, host: hostOf.get(c.id)!.name })
  const sources = first.map(sourceOf)
  sink.sources(sources)
  let lines = 0
  const emit = (src: LogSource) => (l: LogLine) => {
    lines++
    sink.line({ instance: src.name, host: src.host, ...l })
  }

  const cutoff = new Date()
  const history = await Promise.all(
    first.map((c) => collect(runtimeOf(c).logLines(c.id, { tail: opts.tail, since: opts.since, until: opts.follow ? cutoff : undefined }))),
  )
  for (const { line, source } of mergeByTime(history.map((ls, i) => ({ source: sources[i]!, lines: ls })))) emit(source)(line)
  if (!opts.follow) return { app, instances: sources, count: lines }

  // A stream that fails (Docker went away) ends the whole follow with its error.
  const stop = new AbortController()
  const signal = AbortSignal.any([opts.signal, stop.signal])
  let failure: unknown
  const seen = new Set(first.map((c) => c.id))
  const follow = (c: ContainerInfo, src: LogSource) =>
    drain(runtimeOf(c).logLines(c.id, { follow: true, since: cutoff, signal }), emit(src)).catch((err) => {
      failure ??= err
      stop.abort()
    })
  const streams = first.map((c, i) => follow(c, sources[i]!))
  try {
    while (!signal.aborted) {
      await sleep(opts.pollMs ?? 1000, undefined, { signal }).catch(() => undefined)
      if (signal.aborted) break
      const added = sortByName((await listOwn()).filter((c) => !seen.has(c.id)))
      if (!added.length) continue
      const more = added.map(sourceOf)
      sink.sources(more)
      sources.push(...more)
      added.forEach((c, i) => {
        seen.add(c.id)
        streams.push(follow(c, more[i]!))
      })
    }
  } finally {
    stop.abort()
    await Promise.all(streams)
  }
  if (failure) throw failure
  return { app, instances: sources, count: lines }
}

const sortByName = (cs: ContainerInfo[]) => cs.sort((a, b) => a.name.localeCompare(b.name))

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
