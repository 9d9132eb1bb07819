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
  const resync = async (rethrow = false): Promise<void> => {
    if (stopped || rangeInFlight) return
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
    } catch (err) {
      debug('resync %s failed: %s', keyPrefix, err instanceof Error ? err.message : err)
      if (rethrow) throw err
      opts.onError?.(err)
    } finally {
      buffered = []
      rangeInFlight = false
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

  const watcher: Watcher = await client.watch().prefix(keyPrefix).startRevision(String(revision + 1)).create()
  watcher.on('put', onEvent('put'))
  watcher.on('delete', onEvent('delete'))
  let wasDisconnected = false
  watcher.on('disconnected', (err) => {
    wasDisconnected = true
    debug('watch %s disconnected: %s', keyPrefix, err?.message)
    opts.onError?.(err)
  })
  watcher.on('connected', () => {
    if (!wasDisconnected) return
    wasDisconnected = false
    debug('watch %s reconnected; full resync', keyPrefix)
    void resync()
  })
  watcher.on('error', (err) => {
    debug('watch %s error: %s', keyPrefix, err?.message)
    opts.onError?.(err)
  })

  const timer = setInterval(() => void resync(), opts.resyncMs ?? 3000)
  timer.unref()

  return {
    resync: () => resync(),
    stop: async () => {
      stopped = true
      clearInterval(timer)
      await watcher.cancel().catch(() => undefined)
    },
  }
}
