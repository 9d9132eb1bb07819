import { setTimeout as sleep } from 'node:timers/promises'
import createDebug from 'debug'
import type { Etcd3, IKeyValue, Watcher } from 'etcd3'

const debug = createDebug('forrest:etcd')

/** "app/servers" or "/app/servers/" → "/app/servers/": the key prefix instances are announced under. */
export function instanceKeyPrefix(prefix: string): string {
  return `/${prefix.replace(/^\/+|\/+$/g, '')}/`
}

/** The instances under a prefix as of an etcd revision. */
export interface PrefixState {
  /** Instance name → value ("ip:port"). */
  entries: ReadonlyMap<string, string>
  /** Every change to the prefix up to this etcd revision is in `entries`. */
  revision: number
  /** What produced this state. */
  cause: 'resync' | 'event'
}

export interface PrefixWatchOptions {
  /** Full re-read period, a safety net against anything the watch missed. */
  resyncMs?: number
  onChange(state: PrefixState): void
  /** A resync or the watch failed (etcd down); the last state stays in force and it retries. */
  onError?(err: unknown): void
  /**
   * etcd canceled the watch for good (typically: on reconnecting it asked to resume from a
   * revision a compaction had removed) and it was re-created from a fresh read. The message says
   * why; worth a warning, as until then changes only arrived through the periodic resync.
   */
  onRewatch?(message: string): void
}

export interface PrefixWatch {
  /** Forces a full re-read now (range get), e.g. after the consumer lost track. */
  resync(): Promise<void>
  stop(): Promise<void>
}

/**
 * List + watch with resync. The initial range read gives the state at revision R and the watch
 * starts at R+1, so no change falls in between. The watch is only a fast path: after every
 * reconnect of the watcher and every `resyncMs`, the whole prefix is read again, so a missed
 * event (etcd restart, compaction, partition) can never leave the consumer wrong for long.
 * Events that arrive while a range read is in flight are replayed on top of it if they are newer.
 * A watch etcd cancels (etcd3 then drops it and never retries) is replaced: a fresh read, and a
 * new watch from just after it.
 */
export async function watchPrefix(client: Etcd3, prefix: string, opts: PrefixWatchOptions): Promise<PrefixWatch> {
  const keyPrefix = instanceKeyPrefix(prefix)
  let entries = new Map<string, { value: string; modRevision: number }>()
  let revision = 0
  let rangeInFlight = false
  let buffered: { type: 'put' | 'delete'; kv: IKeyValue; revision: number }[] = []
  let stopped = false
  let lastSignature = ''

  const nameOf = (key: string): string | undefined => {
    const rest = key.slice(keyPrefix.length)
    return key.startsWith(keyPrefix) && rest && !rest.includes('/') ? rest : undefined
  }
  const snapshot = (cause: PrefixState['cause']): PrefixState => ({
    entries: new Map([...entries].map(([k, v]) => [k, v.value])),
    revision,
    cause,
  })
  const applyEvent = (type: 'put' | 'delete', kv: IKeyValue, rev: number): boolean => {
    const name = nameOf(kv.key.toString())
    if (rev > revision) revision = rev
    if (!name) return false
    if (type === 'put') entries.set(name, { value: kv.value.toString(), modRevision: Number(kv.mod_revision) })
    else entries.delete(name)
    return true
  }

  let rangeRevision = 0
  /** One range read of the whole prefix; resolves with its header revision. */
  const readOnce = async (): Promise<number> => {
    rangeInFlight = true
    try {
      const res = await client.getAll().prefix(keyPrefix).exec()
      const next = new Map<string, { value: string; modRevision: number }>()
      for (const kv of res.kvs) {
        const name = nameOf(kv.key.toString())
        if (name) next.set(name, { value: kv.value.toString(), modRevision: Number(kv.mod_revision) })
      }
      const headerRev = Number(res.header.revision)
      entries = next
      rangeRevision = headerRev
      // The header revision covers every change to the prefix up to it, but our own writes
      // elsewhere (the ack key) move it too; only advance it when the prefix itself changed,
      // otherwise each ack would cause a new "applied revision" and another ack, forever.
      const signature = [...next].map(([k, v]) => `${k}@${v.modRevision}`).sort().join(',')
      if (signature !== lastSignature || revision === 0) revision = Math.max(revision, headerRev)
      lastSignature = signature
      for (const ev of buffered) if (ev.revision > headerRev) applyEvent(ev.type, ev.kv, ev.revision)
      debug('resync %s: %d entries at revision %d', keyPrefix, entries.size, revision)
      opts.onChange(snapshot('resync'))
      return headerRev
    } finally {
      buffered = []
      rangeInFlight = false
    }
  }
  // Concurrent callers share the read in flight: a re-created watch must start right after a
  // read whose revision it knows, not after one that was skipped.
  let reading: Promise<number> | undefined
  const read = (): Promise<number> => (reading ??= readOnce().finally(() => (reading = undefined)))
  const resync = async (rethrow = false): Promise<void> => {
    if (stopped) return
    try {
      await read()
    } catch (err) {
      debug('resync %s failed: %s', keyPrefix, err instanceof Error ? err.message : err)
      if (rethrow) throw err
      opts.onError?.(err)
    }
  }

  await resync(true) // the first read must succeed: the caller reports ETCD_UNREACHABLE otherwise

  const onEvent = (type: 'put' | 'delete') => (kv: IKeyValue) => {
    const rev = Number(kv.mod_revision)
    if (rangeInFlight) buffered.push({ type, kv, revision: rev })
    else if (rev <= rangeRevision) return // replayed after a reconnect; the range read already has it
    if (applyEvent(type, kv, rev)) {
      const e = entries.get(nameOf(kv.key.toString()) ?? '')
      lastSignature = '' // force the next resync to take its header revision
      debug('%s %s (revision %d)%s', type, kv.key.toString(), rev, e ? ` = ${e.value}` : '')
      opts.onChange(snapshot('event'))
    }
  }

  const stopping = new AbortController()
  let watcher: Watcher | undefined

  /** Watches the prefix from `fromRevision`; resolves once etcd created the watch (or on stop). */
  const startWatch = async (fromRevision: number): Promise<void> => {
    // watcher() is create() without its wait: our listeners must be on before etcd's first answer,
    // as a cancel can arrive in the same tick as "created" and would otherwise go unheard.
    const w = client.watch().prefix(keyPrefix).startRevision(String(fromRevision)).watcher()
    watcher = w
    let created = false
    let wasDisconnected = false
    let resumeFrom = fromRevision
    w.on('put', onEvent('put'))
    w.on('delete', onEvent('delete'))
    // etcd3 moves the revision on 'connected', before a compaction cancel: note it as sent.
    w.on('connecting', () => (resumeFrom = Number(w.request.start_revision)))
    w.on('disconnected', (err) => {
      wasDisconnected = true
      debug('watch %s disconnected: %s', keyPrefix, err?.message)
      opts.onError?.(err)
    })
    w.on('connected', () => {
      if (created && wasDisconnected) {
        debug('watch %s reconnected; full resync', keyPrefix)
        void resync()
      }
      created = true
      wasDisconnected = false
    })
    w.on('error', (err) => {
      debug('watch %s error: %s', keyPrefix, err?.message)
      // etcd3 has already dropped it (cancel() would wait forever for etcd's answer).
      if (watcher === w) watcher = undefined
      if (!created) return // startWatch's caller gets it
      opts.onError?.(err)
      rewatch(resumeFrom, err)
    })
    await new Promise<void>((resolve, reject) => {
      w.once('connected', () => resolve())
      w.once('error', reject)
      stopping.signal.addEventListener('abort', () => resolve(), { once: true })
    })
  }

  /** etcd gives no reason when it cancels a watch whose start revision was compacted: ask. */
  const whyCanceled = async (resumeFrom: number, err: Error): Promise<string> => {
    const compacted = await client
      .get(keyPrefix)
      .revision(resumeFrom)
      .exec()
      .then(
        () => false,
        (e: unknown) => /compacted/.test(String(e)),
      )
    return compacted ? `after a compaction (it was to resume at revision ${resumeFrom})` : `after etcd canceled it: ${err.message}`
  }

  let rewatching: Promise<void> | undefined
  let rewatchDelayMs = 0
  let lastRewatchAt = 0
  const nextDelay = () => Math.min(Math.max(2 * rewatchDelayMs, 250), 10_000)
  const rewatch = (resumeFrom: number, err: Error): void => {
    if (stopped || rewatching) return
    // A watch canceled again soon after being re-created backs off instead of spinning (etcd
    // canceling every watch, or down meanwhile); one that lasted is replaced at once.
    rewatchDelayMs = Date.now() - lastRewatchAt < 30_000 ? nextDelay() : 0
    rewatching = (async () => {
      const why = await whyCanceled(resumeFrom, err)
      while (!stopped) {
        if (rewatchDelayMs) await sleep(rewatchDelayMs, undefined, { signal: stopping.signal }).catch(() => undefined)
        if (stopped) return
        lastRewatchAt = Date.now()
        try {
          const rev = await read()
          if (stopped) return
          await startWatch(rev + 1)
          if (stopped) return
          const message = `etcd watch on ${keyPrefix} re-created from revision ${rev + 1} ${why}`
          debug('%s', message)
          opts.onRewatch?.(message)
          return
        } catch (e) {
          debug('re-creating watch %s failed: %s', keyPrefix, e instanceof Error ? e.message : e)
          opts.onError?.(e)
          rewatchDelayMs = nextDelay()
        }
      }
    })().finally(() => (rewatching = undefined))
  }

  await startWatch(revision + 1)
  const timer = setInterval(() => void resync(), opts.resyncMs ?? 3000)
  timer.unref()

  return {
    resync: () => resync(),
    stop: async () => {
      stopped = true
      clearInterval(timer)
      stopping.abort() // ends a backoff sleep or a wait for etcd to create a watch
      await rewatching
      const w = watcher
      watcher = undefined
      await w?.cancel().catch(() => undefined)
    },
  }
}
