import type { Etcd3 } from 'etcd3'
import { retryTransient } from '../retry.js'
import { isUnreachable } from './etcd-errors.js'
import { encodePrefix, waitForGateways } from './gateway-acks.js'
import { instanceKeyPrefix } from './prefix-watch.js'

/*
 * Traffic weights: the share of requests each instance should get, beside its key.
 *
 *   /<root>/weights/<prefix with "/" as "~">/<name> = <weight, 0-256>
 *
 * The confd key `/<prefix>/<name> = ip:port` stays exactly as it was (an address and nothing
 * else), so nothing that reads the prefix sees a value it cannot parse. The weight sits under
 * forrest's records root rather than under the prefix or a sibling of it: forrest's etcd role
 * already covers the root (a sibling `/<prefix>-weights/` would need a new grant on every
 * install), a weight key can never collide with an instance name, and it sits where the
 * health-check keys the gateways already read sit. It is written in the same transaction as
 * the instance key (and removed with it). No key: the gateway's own weight (100 by default).
 * confd users template it with a default, e.g.
 *   {{range gets "/app/servers/*"}}server {{base .Key}} {{.Value}} weight {{getv (printf "/forrest/weights/app~servers/%s" (base .Key)) "100"}}{{end}}
 */

/** HAProxy takes weights 0 to 256 (`set server ... weight`); 0: checked, but no traffic. */
export const MAX_WEIGHT = 256
/** HAProxy's default server weight: what a gateway gives an instance with no weight key. */
export const DEFAULT_WEIGHT = 100

export function gatewayWeightPrefix(prefix: string, root = 'forrest'): string {
  return `${instanceKeyPrefix(root)}weights/${encodePrefix(prefix)}/`
}

export const weightKey = (prefix: string, name: string, root?: string) => gatewayWeightPrefix(prefix, root) + name

/** A stored weight, or undefined when the value is not an integer HAProxy takes. */
export function parseWeight(value: string): number | undefined {
  const n = Number(value.trim())
  return Number.isInteger(n) && n >= 0 && n <= MAX_WEIGHT ? n : undefined
}

/** Instance name → weight, for every well-formed weight key under the prefix. */
export async function readWeights(client: Etcd3, prefix: string, root?: string): Promise<Map<string, number>> {
  const base = gatewayWeightPrefix(prefix, root)
  const all = await retryTransient(() => client.getAll().prefix(base).strings(), isUnreachable)
  return weightsFrom(new Map(Object.entries(all).map(([k, v]) => [k.slice(base.length), v])))
}

/** The well-formed weights among name → raw value (a malformed one is left out: the gateway's default applies). */
export function weightsFrom(raw: ReadonlyMap<string, string>): Map<string, number> {
  const out = new Map<string, number>()
  for (const [name, value] of raw) {
    const w = parseWeight(value)
    if (name && !name.includes('/') && w !== undefined) out.set(name, w)
  }
  return out
}

/**
 * Every gateway has each instance in `want` at that weight in HAProxy, read back from HAProxy
 * (the ack's `weights`), not taken from what the gateway sent. A gateway that reports an error
 * and still has another weight, or that has none for the instance, fails the wait at the
 * deadline: its HAProxy would send that instance another share of the traffic than asked.
 */
export function waitForWeights(client: Etcd3, prefix: string, want: ReadonlyMap<string, number>, opts: { timeoutMs: number; root?: string; expected?: ReadonlySet<string> }) {
  return waitForGateways(client, prefix, opts, (ack) => {
    const wrong: string[] = []
    for (const [name, weight] of want) {
      const has = ack.weights?.[name]
      if (has !== weight) wrong.push(`${name} at ${has === undefined ? 'no weight' : `weight ${has}`}, not ${weight}`)
    }
    if (wrong.length === 0) return { done: true }
    return { done: false, why: `HAProxy has ${wrong.join(', ')}` }
  })
}
