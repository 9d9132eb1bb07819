import createDebug from 'debug'
import type { Etcd3, IKeyValue, Lease } from 'etcd3'
import { keyPrefix as instanceKeyPrefix } from '../plan/keys.js'
import { retryTransient } from '../retry.js'
import { isUnreachable } from './etcd-errors.js'

const debug = createDebug('forrest:etcd')

/**
 * Gateway acknowledgements: each running gateway keeps one key under a lease,
 *   /forrest/gateways/<prefix with "/" as "~">/<gatewayId> = GatewayAck (JSON)
 * so a rollout can wait until every load balancer has applied (and drained) a change and has
 * HAProxy's own verdict on each new instance. A gateway that stops answering loses its lease and
 * its key: a rollout that counted on it fails instead of carrying on without it.
 */
export interface ServerVerdict {
  /** up: HAProxy's check passed and it takes traffic; down: a verdict against it; pending: none yet. */
  state: 'up' | 'down' | 'pending'
  reason?: string
  /** A "down" the gateway will not revise by itself (HAProxy refused the server, the gateway's own check of the spec's path kept failing for 1.5 s, a key it skips): a rollout stops waiting at once. */
  final?: boolean
}

export interface GatewayAck {
  /** Every change to the prefix up to this etcd revision is applied, withdrawn servers drained. */
  revision: number
  host: string
  pid: number
  socket: string
  since: string
  /** Instance name → HAProxy's verdict, for every instance under the prefix. */
  servers?: Record<string, ServerVerdict>
  /** Servers withdrawn from etcd that HAProxy still has (requests attached, or being deleted). */
  draining?: string[]
  /** Why the gateway cannot apply the latest changes (absent when it can). */
  error?: string
  /**
   * Servers its empty-view guard kept although etcd no longer lists them: the withdrawal is not
   * applied, so the revision is not acknowledged past it (a rollout waiting on it fails at once).
   */
  kept?: string[]
  /**
   * Instance name → what HAProxy counted for it (show stat), for canary analysis; refreshed at
   * most once per countersEveryMs so a busy backend does not rewrite the key on every pass.
   */
  counters?: Record<string, TrafficCounters>
  /** When the counters were read (epoch ms). */
  countersAt?: number
  /**
   * Instance name → the weight HAProxy has for it (srv_uweight, read back from `show servers
   * state`), for every desired server it has: what a weight change waits for (weights.ts).
   */
  weights?: Record<string, number>
}

/** Same shape as the gateway's ServerCounters; declared here so registry does not import gateway. */
export interface TrafficCounters {
  responses: number
  errors5xx: number
  /** HAProxy's average response time over the server's last 1024 requests (ms). */
  rtimeMs: number
  /** Connection errors, response errors, retries, redispatches (show stat econ, eresp, wretr, wredis); absent from older gateways. */
  econ?: number
  eresp?: number
  wretr?: number
  wredis?: number
}

/** `root` is forrest's records root (config.recordsRoot, default "forrest"). */
export function gatewayAckPrefix(prefix: string, root = 'forrest'): string {
  return `${instanceKeyPrefix(root)}gateways/${encodePrefix(prefix)}/`
}

/** Health checks (path, status) of the instances under a prefix, for the gateways to apply. */
export function gatewayCheckPrefix(prefix: string, root = 'forrest'): string {
  return `${instanceKeyPrefix(root)}checks/${encodePrefix(prefix)}/`
}

export interface InstanceCheck {
  path: string
  status: number
}

export const encodePrefix = (prefix: string) => instanceKeyPrefix(prefix).slice(1, -1).replace(/\//g, '~')

export interface AckPublisher {
  /** Publishes (if changed) the applied revision, verdicts and error. Failures are retried on the next call. */
  publish(state: AckState): Promise<void>
  /** Revokes the lease: the key disappears at once. */
  close(): Promise<void>
  /** True while the lease is granted and etcd renewed it within its TTL (false once closed). */
  leaseHeld(): boolean
}

/** Grants a lease (kept alive by etcd3) and returns a publisher for one gateway's key. */
export type AckState = Pick<GatewayAck, 'revision' | 'servers' | 'draining' | 'error' | 'kept' | 'counters' | 'countersAt' | 'weights'>

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
  let latest: AckState | undefined
  let closed = false
  let renewedAt = 0

  const grant = async (): Promise<Lease> => {
    const l = client.lease(ttl)
    l.on('lost', (err) => {
      // etcd was away longer than the TTL (or restarted without our lease): grant a new one
      // and write the last value again on the next publish.
      debug('gateway lease lost: %s', err?.message)
      if (lease === l) lease = undefined
      published = undefined
      // Re-publish after a short backoff (etcd may still be coming back); the periodic resync retries too.
      if (!closed && latest !== undefined) setTimeout(() => void doPublish(latest as AckState).catch(() => undefined), 500).unref() // backoff
    })
    l.on('keepaliveSucceeded', () => (renewedAt = Date.now()))
    await l.grant()
    renewedAt = Date.now()
    return l
  }

  const doPublish = async (state: AckState): Promise<void> => {
    latest = state
    if (closed) return
    const value = JSON.stringify({ ...state, ...info } satisfies GatewayAck)
    if (value === published && lease) return
    lease ??= await grant()
    await lease.put(key).value(value)
    published = value
    debug('ack %s = %d%s', key, state.revision, state.error ? ` (error: ${state.error})` : '')
  }

  return {
    publish: doPublish,
    close: async () => {
      closed = true
      const l = lease
      lease = undefined
      if (l) await l.revoke().catch((err: unknown) => debug('revoke failed: %s', err instanceof Error ? err.message : err))
    },
    leaseHeld: () => !closed && lease !== undefined && Date.now() - renewedAt < ttl * 1000,
  }
}

/** The live gateways for a prefix and their applied revisions. */
export async function readGatewayAcks(client: Etcd3, prefix: string, root?: string): Promise<{ acks: Map<string, GatewayAck>; revision: number }> {
  const res = await retryTransient(() => client.getAll().prefix(gatewayAckPrefix(prefix, root)).exec(), isUnreachable)
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
  /** acked: every expected and live gateway agrees; no-gateways: none expected or running (use the drain time); failed: see problems. */
  outcome: 'acked' | 'no-gateways' | 'failed'
  /** The gateways considered. */
  gateways: string[]
  waitedMs: number
  /** On failure: one line per gateway that did not acknowledge, and why. */
  problems?: string[]
}

/** What one gateway says about a wait: done, still waiting (why), or failed for good (why). */
type Judgement = { done: true } | { done: false; why: string; final?: boolean }

/**
 * Waits until every gateway in `expected` (the live ones when the rollout began) and every other
 * live one is `done` by `judge`. Reads once, then follows the gateways prefix with a watch from
 * the read's revision + 1, so nothing slips in between. An expected gateway whose key is gone
 * (lease expired: dead, frozen or partitioned) fails the wait at once: its HAProxy may still
 * route to what we are about to stop. Waiting past the timeout is a failure too, never success.
 */
export async function waitForGateways(
  client: Etcd3,
  prefix: string,
  opts: { timeoutMs: number; root?: string; expected?: ReadonlySet<string> },
  judge: (ack: GatewayAck) => Judgement,
): Promise<GatewayAckResult> {
  const started = Date.now()
  const ackPrefix = gatewayAckPrefix(prefix, opts.root)
  const expected = opts.expected ?? new Set<string>()
  const { acks, revision: readRevision } = await readGatewayAcks(client, prefix, opts.root)
  const evaluate = (timedOut: boolean): GatewayAckResult | undefined => {
    const ids = [...new Set([...expected, ...acks.keys()])].sort()
    const problems: string[] = []
    let final = false
    for (const id of ids) {
      const ack = acks.get(id)
      const j: Judgement = ack ? judge(ack) : { done: false, why: 'stopped acknowledging: its lease expired (gateway dead, frozen or cut off from etcd)', final: true }
      if (j.done) continue
      problems.push(`gateway ${id}${ack ? ` on ${ack.host}` : ''}: ${j.why}${ack?.error ? ` (it reports: ${ack.error})` : ''}`)
      final ||= j.final === true
    }
    const base = { gateways: ids, waitedMs: Date.now() - started }
    if (ids.length === 0) return { outcome: 'no-gateways', ...base }
    if (problems.length === 0) return { outcome: 'acked', ...base }
    if (final || timedOut) return { outcome: 'failed', ...base, problems: timedOut && !final ? problems.map((p) => `${p}; waited ${opts.timeoutMs}ms`) : problems }
    return undefined
  }
  const now = evaluate(false)
  if (now) return now

  const watcher = await retryTransient(() => client.watch().prefix(ackPrefix).startRevision(String(readRevision + 1)).create(), isUnreachable)
  try {
    return await new Promise<GatewayAckResult>((resolve) => {
      const timer = setTimeout(() => resolve(evaluate(true)!), Math.max(0, opts.timeoutMs - (Date.now() - started)))
      const check = () => {
        const r = evaluate(false)
        if (!r) return
        clearTimeout(timer)
        resolve(r)
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

/** Every gateway has applied `revision` (e.g. the delete that withdrew an instance: drained). */
export function waitForGatewayAcks(client: Etcd3, prefix: string, revision: number, opts: { timeoutMs: number; root?: string; expected?: ReadonlySet<string> }) {
  return waitForGateways(client, prefix, opts, (ack) => {
    if (ack.revision >= revision) return { done: true }
    // Its guard kept what was withdrawn: waiting longer changes nothing, and counting it as done would stop a serving container.
    if (ack.kept?.length) return { done: false, why: `its empty-view guard kept ${ack.kept.join(', ')} instead of withdrawing: not acknowledged`, final: true }
    return { done: false, why: `has applied revision ${ack.revision}, not yet ${revision}` }
  })
}

/** Every gateway has applied the announce at `revision` and HAProxy's check passed for `name`: it takes traffic. */
export function waitForServing(client: Etcd3, prefix: string, name: string, revision: number, opts: { timeoutMs: number; root?: string; expected?: ReadonlySet<string> }) {
  return waitForGateways(client, prefix, opts, (ack) => {
    if (ack.revision < revision) return { done: false, why: `has applied revision ${ack.revision}, not yet ${revision}` }
    const v = ack.servers?.[name]
    if (v?.state === 'up') return { done: true }
    if (!v) return { done: false, why: `has no verdict for ${name}` }
    // A final "down" ends the wait at once: the gateway has said why, and will not change its mind by the deadline.
    return { done: false, why: `HAProxy does not route to ${name}: ${v.state}${v.reason ? ` (${v.reason})` : ''}`, ...(v.state === 'down' && v.final ? { final: true } : {}) }
  })
}

/**
 * Every gateway neither routes to `name` nor still drains it: for a container whose key is
 * already gone (an interrupted run withdrew it), before it is stopped. A gateway publishes its
 * state whenever its desired or draining servers change, so a stale view still lists the name.
 */
export function waitForGone(client: Etcd3, prefix: string, name: string, opts: { timeoutMs: number; root?: string; expected?: ReadonlySet<string> }) {
  return waitForGateways(client, prefix, opts, (ack) => {
    if (ack.servers?.[name]) return { done: false, why: `still has ${name} (${ack.servers[name]!.state})` }
    if (ack.draining?.includes(name)) return { done: false, why: `is still draining ${name}` }
    return { done: true }
  })
}
