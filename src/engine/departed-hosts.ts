import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { hostsOf, LOCAL_HOST, reachHosts, type Host, type HostState } from '../hosts/fleet.js'
import type { DeploymentSpec } from '../spec/types.js'
import { recordsOf } from './app-records.js'

/**
 * Hosts that left an app's list: its instance records place instances on a host its file no
 * longer lists. Each is reached the way the newest revision that listed it did (or the local
 * engine, for an app that had no hosts list), so the rollout sees what runs there and retires it
 * within the bounds (placementOf never places there). A host no revision listed is another engine's
 * (left alone, unless named in --forget-host). One that does not answer stops the deploy
 * before anything changes, unless named in --forget-host: then its instances' keys and records are
 * withdrawn and nothing on it is touched. Reads only.
 */
export async function departedHosts(ctx: Context, spec: DeploymentSpec, forget: readonly string[], listedStates: readonly HostState[] = []): Promise<HostState[]> {
  const records = recordsOf(ctx)
  const [instances, revisions] = await Promise.all([records.instances(spec.name), records.revisions(spec.name)])
  const listed = new Set(hostsOf(ctx, spec).map((h) => h.name))
  // A record naming a listed host's engine is on that host, whatever name it gives (records from
  // before hosts lists named the host by its IP): only a host whose engine is not listed has left.
  const listedEngines = new Set(listedStates.map((h) => h.engine).filter(Boolean))
  const counts = new Map<string, number>()
  for (const r of instances.values()) if (!listed.has(r.host) && !(r.engine && listedEngines.has(r.engine))) counts.set(r.host, (counts.get(r.host) ?? 0) + 1)
  const unknown = forget.filter((f) => !counts.has(f))
  if (unknown.length) {
    throw new ForrestError('BAD_INPUT', `--forget-host ${unknown.join(', ')}: ${spec.name}'s records place no instance on ${unknown.length === 1 ? 'a host' : 'hosts'} of that name outside its hosts list; nothing was changed`, {
      suggestion: counts.size ? `Hosts that left ${spec.name}'s list: ${[...counts.keys()].join(', ')}.` : `Leave --forget-host out: no host left ${spec.name}'s list.`,
    })
  }
  if (counts.size === 0) return []
  const newestFirst = [...revisions].reverse()
  const known: Host[] = []
  const unreachable: HostState[] = []
  for (const name of counts.keys()) {
    const hostSpec = newestFirst.map((r) => r.spec.hosts?.find((h) => h.name === name)).find(Boolean)
    if (hostSpec) known.push(hostsOf(ctx, { hosts: [hostSpec], announce: {} })[0]!)
    else if (name === LOCAL_HOST) known.push(hostsOf(ctx, { announce: spec.announce })[0]!)
    // No revision of this app ever listed it: another engine's instance (another environment sharing
    // this etcd), never this deploy's to retire or to call unreachable. status still names it as drift.
    else if (forget.includes(name)) unreachable.push({ host: { name, address: '', labels: {}, endpoint: '(no revision records its endpoint)', runtime: ctx.runtime }, error: new ForrestError('DOCKER_UNREACHABLE', 'no recorded endpoint') })
  }
  const reached = [...(await reachHosts(known)), ...unreachable]
  const down = reached.filter((h) => h.error && !forget.includes(h.host.name))
  if (down.length) {
    const what = down.map((d) => `${d.host.name} (${d.host.endpoint}, ${counts.get(d.host.name)} instance${counts.get(d.host.name) === 1 ? '' : 's'}): ${d.error!.message}`).join('; ')
    throw new ForrestError('DOCKER_UNREACHABLE', `${spec.name}: ${down.length === 1 ? 'a host' : 'hosts'} no longer in its hosts list still ${down.length === 1 ? 'has' : 'have'} its instances by its records, and did not answer: ${what}; nothing was changed`, {
      suggestion: `Bring ${down.map((d) => d.host.name).join(', ')} back so the deploy retires those instances within the bounds, or deploy with ${down.map((d) => `--forget-host ${d.host.name}`).join(' ')} to withdraw their keys and records without touching the host (its containers, should it come back, are no longer forrest's to stop).`,
      detail: { hosts: down.map((d) => ({ name: d.host.name, endpoint: d.host.endpoint, instances: counts.get(d.host.name), error: d.error?.message })) },
    })
  }
  // A forgotten host that did not answer is left out: nothing on it is reached; observe withdraws its records' keys.
  return reached.filter((h) => !h.error)
}
