/**
 * HAProxy's check keywords for the servers the gateway manages: one source for `add server`
 * (dynamic servers ignore default-server), the --servers-file lines and the starter config's
 * default-server.
 *
 * - inter: a live server's check period. Each check is an HTTP request through Docker's proxy,
 *   so this is the idle cost: at 200 ms, 150 instances kept half of 2 cores busy (#18).
 * - downinter 25ms: a DOWN server's period, and the delay of the first check after the gateway
 *   forces a new server DOWN, so it sets the announce → served latency, whatever inter is.
 * - rise 1: the first passing check puts a gated server UP (the gateway's verdicts rely on it).
 * - fastinter 50ms, fall 2: a live server that fails one check is checked again 50 ms later and
 *   taken out on the second failure.
 * - observe layer4, error-limit 1, on-error fastinter: a connection that real traffic fails to
 *   open (the container is gone) brings the next check forward to fastinter, so under traffic a
 *   dead instance is out in ~0.2 s however long inter is; it changes no verdict by itself.
 */
export const DEFAULT_CHECK_INTERVAL_MS = 2000

/** The keywords after `check`, e.g. "inter 2s fastinter 50ms downinter 25ms fall 2 rise 1 observe ...". */
export function checkKeywords(intervalMs = DEFAULT_CHECK_INTERVAL_MS): string {
  // HAProxy takes one unit per time value ("1s500ms" is not one): whole seconds or milliseconds.
  const inter = intervalMs % 1000 === 0 ? `${intervalMs / 1000}s` : `${intervalMs}ms`
  return `inter ${inter} fastinter 50ms downinter 25ms fall 2 rise 1 observe layer4 error-limit 1 on-error fastinter`
}
