import createDebug from 'debug'
import type { Etcd3, IKeyValue, Lease } from 'etcd3'
import { instanceKeyPrefix } from './prefix-watch.js'

const debug = createDebug('forrest:etcd')

/**
 * Gateway acknowledgements: each running gateway keeps one key under a lease,
 *   /forrest/gateways/<prefix with "/" as "~">/<gatewayId> = GatewayAck (JSON)
 * so a deploy can wait until every load balancer has applied (and drained) a change, and a dead
 * gateway's key disappears with its lease instead of blocking deploys forever.
 */
export interface GatewayAck {
  /** Every change to the prefix up to this etcd revision is applied, withdrawn servers drained. */
  revision: number
  host: string
  pid: number
  socket: string
  since: string
}

/** `root` is forrest's records root (config.recordsRoot, default "forrest"). */
export function gatewayAckPrefix(prefix: string, root = 'forrest'): string {
  const encoded = instanceKeyPrefix(prefix).slice(1, -1).replace(/\//g, '~')
  return `${instanceKeyPrefix(root)}gateways/${encoded}/`
}

export interface AckPublisher {
  /** Publishes (if changed) the applied revision. Failures are retried on the next call. */
  publish(revision: number): Promise<void>
  /** Revokes the lease: the key disappears at once. */
  close(): Promise<void>
}

/** Grants a lease (kept alive by etcd3) and returns a publisher for one gateway's key. */
export async function publishGatewayAcks(
  client: Etcd3,
  prefix: string,
  gatewayId: string,
  info: Omit<GatewayAck, 'revision'>,
  opts: { ttlSec?: number; root?: string } = {},
): Promise<AckPublisher> {
  const key = gatewayAckPrefix(prefix, opts.root) + gatewayId
  const ttl = opts.ttlSec ?? 5
  let lease: Lease | undefined
  let published: string | undefined
  let latest: number | undefined
  let closed = false

  const grant = async (): Promise<Lease> => {
    const l = client.lease(ttl)
    l.on('lost', (err) => {
      // etcd was away longer than the TTL (or restarted without our lease): grant a new one
      // and write the last value again on the next publish.
      debug('gateway lease lost: %s', err?.message)
      if (lease === l) lease = undefined
      published = undefined
      // Re-publish after a short backoff (etcd may still be coming back); the periodic resync retries too.
      if (!closed && latest !== undefined) setTimeout(() => void doPublish(latest as number).catch(() => undefined), 500).unref()
    })
    await l.grant()
    return l
  }

  const doPublish = async (revision: number): Promise<void> => {
    latest = revision
    if (closed) return
    const value = JSON.stringify({ revision, ...info } satisfies GatewayAck)
    if (value === published && lease) return
    lease ??= await grant()
    await lease.put(key).value(value)
    published = value
    debug('ack %s = %d', key, revision)
  }

  return {
    publish: doPublish,
    close: async () => {
      closed = true
      const l = lease
      lease = undefined
      if (l) await l.revoke().catch((err: unknown) => debug('revoke failed: %s', err instanceof Error ? err.message : err))
    },
  }
}

/** The live gateways for a prefix and their applied revisions. */
export async function readGatewayAcks(client: Etcd3, prefix: string, root?: string): Promise<{ acks: Map<string, GatewayAck>; revision: number }> {
  const res = await client.getAll().prefix(gatewayAckPrefix(prefix, root)).exec()
  const acks = new Map<string, GatewayAck>()
  for (const kv of res.kvs) addAck(acks, gatewayAckPrefix(prefix, root), kv)
  return { acks, revision: Number(res.header.revision) }
}

function addAck(acks: Map<string, GatewayAck>, ackPrefix: string, kv: IKeyValue): void {
  const id = kv.key.toString().slice(ackPrefix.length)
  try {
    acks.set(id, JSON.parse(kv.value.toString()) as GatewayAck)
  } catch {
    debug('ignoring malformed gateway ack %s', kv.key.toString())
  }
}

export interface GatewayAckResult {
  /** acked: every live gateway applied `revision`; no-gateways: none running (use a fixed drain time). */
  outcome: 'acked' | 'no-gateways' | 'timeout'
  /** The live gateways considered. */
  gateways: string[]
  waitedMs: number
  /** On timeout: the gateways still behind. */
  lagging?: string[]
}

/**
 * Waits until every live gateway for `prefix` reports an applied revision >= `revision` (e.g.
 * the header revision of the delete that withdrew an instance). Reads once, then follows the
 * gateways prefix with a watch from the read's revision + 1, so no ack can slip in between.
 * A gateway whose key disappears (lease expired: it died) stops counting.
 */
export async function waitForGatewayAcks(
  client: Etcd3,
  prefix: string,
  revision: number,
  opts: { timeoutMs: number; root?: string },
): Promise<GatewayAckResult> {
  const started = Date.now()
  const ackPrefix = gatewayAckPrefix(prefix, opts.root)
  const { acks, revision: readRevision } = await readGatewayAcks(client, prefix, opts.root)
  const result = (outcome: GatewayAckResult['outcome']): GatewayAckResult => {
    const lagging = [...acks].filter(([, a]) => a.revision < revision).map(([id]) => id)
    return { outcome, gateways: [...acks.keys()].sort(), waitedMs: Date.now() - started, ...(outcome === 'timeout' ? { lagging } : {}) }
  }
  const allAcked = () => [...acks.values()].every((a) => a.revision >= revision)
  if (acks.size === 0) return result('no-gateways')
  if (allAcked()) return result('acked')

  const watcher = await client.watch().prefix(ackPrefix).startRevision(String(readRevision + 1)).create()
  try {
    return await new Promise<GatewayAckResult>((resolve) => {
      const timer = setTimeout(() => resolve(result('timeout')), Math.max(0, opts.timeoutMs - (Date.now() - started)))
      const check = () => {
        if (acks.size === 0) resolve(result('no-gateways'))
        else if (allAcked()) resolve(result('acked'))
        else return
        clearTimeout(timer)
      }
      watcher.on('put', (kv) => {
        addAck(acks, ackPrefix, kv)
        check()
      })
      watcher.on('delete', (kv) => {
        acks.delete(kv.key.toString().slice(ackPrefix.length))
        check()
      })
    })
  } finally {
    await watcher.cancel().catch(() => undefined)
  }
}
