import { normalizePrefix } from '../config.js'
import { ForrestError } from '../errors.js'
import type { ObservedInstance } from '../plan/types.js'
import type { InstanceRegistry } from '../registry/instances.js'
import type { Records, RevisionRecord } from '../registry/records.js'

/**
 * Refusals a deploy makes under the lock, after reading what is there and before it changes
 * anything (issue #21): each throws a typed error saying what was left unchanged.
 */

/** How a deploy's announce prefix and address were chosen: explicitly (file, flag, env) or by default. */
export interface AnnounceChoice {
  /** announce.prefix in the file, --prefix or ETCD_PREFIX (not the default app/servers). */
  prefix: boolean
  /** announce.address in the file, --ip or FORREST_IP, or a hosts: list (not the detected address). */
  address: boolean
}

/**
 * A detected address that differs from the one the current revision runs at is a move nobody
 * asked for (a shell or CI runner without FORREST_IP): refused (exit 2) unless set explicitly.
 */
export function checkDetectedAddress(app: string, choice: AnnounceChoice, address: string, current: RevisionRecord | undefined): void {
  if (choice.address || !current) return
  const was = current.spec.announce.address
  if (!was || was === address) return
  throw new ForrestError('BAD_INPUT', `${app}: the detected address ${address} differs from the address revision ${current.revision} runs at (${was}); nothing was changed`, {
    suggestion: `To keep ${app} where it is, set FORREST_IP=${was} (or announce.address: ${was} in the file, or --ip ${was}); to move it to ${address}, set FORREST_IP=${address}.`,
  })
}

/** The note a deploy prints when it announces a detected address. */
export const detectedAddressNote = (address: string) => `announce address ${address} was detected (no FORREST_IP, --ip or announce.address): set FORREST_IP to choose it`

/**
 * Two apps in one prefix share one load balancer backend: one app's requests are answered by the
 * other. A deploy joins a prefix where another app's instances are registered only when the
 * prefix was chosen explicitly; with the default prefix it is refused (exit 2).
 */
export async function checkSharedPrefix(
  deps: { records: Records; registry: InstanceRegistry },
  app: string,
  prefix: string,
  choice: AnnounceChoice,
  current: RevisionRecord | undefined,
): Promise<void> {
  if (choice.prefix) return
  // Already there: the deploy does not put it anywhere new.
  if (current && normalizePrefix(current.spec.announce.prefix ?? '') === prefix) return
  const keys = await deps.registry.list(prefix)
  if (keys.size === 0) return
  const others: string[] = []
  for (const other of await deps.records.apps()) {
    if (other === app) continue
    const recs = await deps.records.instances(other)
    if ([...recs.values()].some((r) => keys.has(r.name) && normalizePrefix(r.prefix ?? prefix) === prefix)) others.push(other)
  }
  if (others.length === 0) return
  throw new ForrestError('BAD_INPUT', `${app} would join /${prefix}/ (the default prefix), but ${others.join(', ')}'s instances are registered under /${prefix}/: the two apps would share one load balancer backend and answer each other's requests; nothing was changed`, {
    suggestion: `Give ${app} its own prefix and backend: announce.prefix: ${app}/servers in the deployment file, and a \`forrest gateway --prefix ${app}/servers --backend ${app}\` for it. To share /${prefix}/ on purpose, write announce.prefix: ${prefix} in the file.`,
  })
}

/**
 * A prefix move takes the app out of the backend that serves it now: refused (GATEWAYS_MISSING,
 * exit 11) while fewer live gateways watch the new prefix than the old one, where instances of
 * the app are registered; the old load balancer would be emptied.
 */
export function checkPrefixMove(app: string, prefix: string, instances: ObservedInstance[], gateways: (p: string) => ReadonlySet<string>): void {
  const old = [...new Set(instances.filter((i) => i.registered && i.prefix && i.prefix !== prefix).map((i) => i.prefix!))]
  const target = gateways(prefix)
  for (const p of old) {
    const watching = gateways(p)
    if (watching.size <= target.size) continue
    throw new ForrestError('GATEWAYS_MISSING', `${app}: announce.prefix moves from /${p}/ to /${prefix}/, but ${watching.size} live gateway${watching.size === 1 ? '' : 's'} watch /${p}/ (${[...watching].sort().join(', ')}) and ${target.size || 'none'} watch${target.size === 1 ? 'es' : ''} /${prefix}/: the move would empty the load balancer serving ${app} now; nothing was changed`, {
      suggestion: `Start \`forrest gateway --prefix ${prefix}\` on every load balancer that serves /${p}/ (and point its frontend at that backend), then deploy again; or keep announce.prefix: ${p}.`,
    })
  }
}

/**
 * A revision left in-progress by a run that died (SIGKILL, a lost machine) while holding the
 * lock: the run holding the lock now is the only one, so it is settled as failed, with an event.
 * So is the target a rollout to 0 instances recorded and never settled: it is cleared.
 */
export async function settleAbandoned(records: Records, app: string, revisions: RevisionRecord[], current: number | undefined, actor: string): Promise<void> {
  for (const r of revisions) {
    if (r.outcome !== 'in-progress' || r.revision === current) continue
    await records.setOutcome(app, r.revision, 'failed')
    r.outcome = 'failed'
    await records.event(app, {
      at: new Date().toISOString(),
      kind: 'settled',
      revision: r.revision,
      by: actor,
      message: `revision ${r.revision} was left in-progress by a run that ended without settling it (killed?): settled as failed`,
    })
  }
  const target = await records.target(app)
  if (!target) return
  await records.clearTarget(app)
  await records.event(app, {
    at: new Date().toISOString(),
    kind: 'settled',
    revision: target.revision,
    by: actor,
    message: `the target of ${target.replicas} instances of revision ${target.revision} recorded at ${target.at} by ${target.by} was left by a run that ended without settling it (killed?): cleared`,
  })
}
