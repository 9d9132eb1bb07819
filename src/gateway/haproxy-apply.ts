import createDebug from 'debug'
import { HaproxyCommandError, type HaproxyRuntime } from './haproxy-runtime.js'
import type { SyncAction } from './sync.js'
import type { Emit, GatewayState } from './types.js'

const debug = createDebug('forrest:gateway')

/**
 * The HAProxy commands for each sync action (sync.ts plans them), on one backend over the runtime
 * API, keeping the gateway's bookkeeping of when servers were added and began to drain.
 */
export function haproxyApplier(x: {
  runtime: HaproxyRuntime
  backend: string
  checkParams: string
  state: GatewayState
  emit: Emit
}): (a: SyncAction) => Promise<'deleted' | undefined> {
  const { runtime, backend, checkParams, state, emit } = x
  const { drainStartedAt, addedAt, failedReported } = state

  /**
   * The commands that keep a just-added (weight 0) server out of rotation until HAProxy's own
   * check passes: forced DOWN, it gets its weight back and HAProxy puts it UP on the first good
   * check (rise 1), with no gateway round trip. Order matters: `health down` only sticks once the
   * server is out of maint (state ready), and the weight comes last so it never serves while
   * unchecked.
   */
  function gateDown(srv: string, weight: number): string[] {
    return [`set server ${srv} health down`, `set server ${srv} weight ${weight}`]
  }

  /** Runs one action; 'deleted' when a `remove` really deleted the server. */
  return async function execute(a: SyncAction): Promise<'deleted' | undefined> {
    const srv = `${backend}/${a.name}`
    switch (a.kind) {
      case 'add': {
        const t0 = Date.now()
        // One line (see "Gating" in gateway.ts). If `add server` fails, the rest answer "No such server";
        // if another gateway on this HAProxy added the same server a moment before ("Already
        // exists"), the rest gate that one again, which only delays its verdict.
        const add = [`add server ${srv} ${a.address} ${checkParams} weight ${a.trusted ? a.weight : 0}`, `enable health ${srv}`, `set server ${srv} state ready`]
        await runtime.runLine(a.trusted ? add : [...add, ...gateDown(srv, a.weight)])
        failedReported.delete(a.name)
        if (a.trusted) {
          emit({ type: 'up', name: a.name, address: a.address })
          return
        }
        addedAt.set(a.name, t0)
        emit({ type: 'added', name: a.name, address: a.address })
        return
      }
      case 'enable-health':
        await runtime.run(`enable health ${srv}`)
        return
      case 'promote': {
        await runtime.run(`set server ${srv} weight ${a.weight}`)
        const t = addedAt.get(a.name)
        addedAt.delete(a.name)
        emit({ type: 'up', name: a.name, address: a.address, msSinceAdded: t === undefined ? undefined : Date.now() - t })
        return
      }
      case 'ready':
        await runtime.runLine(a.regate ? [`set server ${srv} weight 0`, `set server ${srv} state ready`, ...gateDown(srv, a.weight)] : [`set server ${srv} state ready`])
        return
      case 'weight':
        // HAProxy answers nothing on success; the ack reads the weight back (show servers state), never assumes it.
        await runtime.run(`set server ${srv} weight ${a.weight}`)
        emit({ type: 'weight', name: a.name, weight: a.weight, from: a.from })
        return
      case 'drain':
        await runtime.run(`set server ${srv} state drain`)
        drainStartedAt.set(a.name, Date.now())
        emit({ type: 'draining', name: a.name, address: a.address })
        return
      case 'remove': {
        if (a.forced) await runtime.run(`shutdown sessions server ${srv}`)
        await runtime.run(`set server ${srv} state maint`)
        // maint stops new requests, but one dispatched just before it may still run: HAProxy
        // refuses `del server` while anything is attached. Only a successful del is "applied";
        // a refused one is retried on the next pass (the server stays in `draining`).
        const gone = await runtime.run(`del server ${srv}`).then(
          () => true,
          (err: unknown) => {
            if (err instanceof HaproxyCommandError && /^No such server/i.test(err.answer)) return true // deleted meanwhile
            debug('del %s deferred: %s', srv, err instanceof Error ? err.message : err)
            return false
          },
        )
        if (!gone) return
        drainStartedAt.delete(a.name)
        emit({ type: 'drained', name: a.name, address: a.address, forced: a.forced, sessions: a.sessions })
        return 'deleted'
      }
    }
  }
}
