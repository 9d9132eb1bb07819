import { BrokenCircuitError, noop, type IDefaultPolicyContext, type IPolicy } from 'cockatiel'
import { isRecoverableError } from 'etcd3'

/**
 * etcd3's per-member fault policy (`faultHandling.host`). With several members, a member that
 * just failed (killed, partitioned: a recoverable error) is skipped for `skipMs`, so forrest's
 * retry goes to a live one instead of picking the dead one again at random; with a single member
 * there is nothing to skip to, so none.
 *
 * Deliberately not a circuit breaker (cockatiel's, or etcd3's default): a breaker lets one
 * "half-open" test call through and makes every other call to that member wait for it, and etcd3
 * re-runs a call that got "etcdserver: invalid auth token" (what a restarted member answers to a
 * token it lost) from *inside* the member's policy. When that call was the test, a retry that
 * picks the same member waits for the test, which waits for the retry: a deadlock no gRPC
 * deadline ends, and every later call to that member joins it (the gateway stopped acknowledging
 * after an etcd member restart). Here no call ever waits for another: a skipped member fails
 * fast (etcd3 then tries the next one), any other call goes straight through.
 */
export function memberPolicy(members: number, skipMs = 500): IPolicy {
  return members > 1 ? new SkipAfterFailure(skipMs) : noop
}

class SkipAfterFailure implements IPolicy {
  declare readonly _altReturn: never
  readonly onSuccess = noop.onSuccess
  readonly onFailure = noop.onFailure
  private skipUntil = 0

  constructor(private readonly skipMs: number) {}

  async execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal = new AbortController().signal): Promise<T> {
    if (Date.now() < this.skipUntil) throw new BrokenCircuitError() // etcd3 moves on to another member
    try {
      return await fn({ signal })
    } catch (err) {
      if (err instanceof Error && isRecoverableError(err)) this.skipUntil = Date.now() + this.skipMs
      throw err
    }
  }
}
