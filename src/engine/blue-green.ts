import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { instanceNamePrefix, parseInstanceName } from '../plan/naming.js'
import { capacityProblems, instancesPerHost } from '../plan/blue-green.js'
import type { ObservedInstance, RolloutPlan } from '../plan/types.js'
import { readWeights } from '../registry/weights.js'
import { parseBytes } from '../spec/bytes.js'
import type { DeploymentSpec } from '../spec/types.js'
import type { StepDeps } from './steps.js'
import { applyWeights, type WeightDeps, type WeightTarget } from './weights.js'

/**
 * Blue/green's switch: the target revision's instances to the default weight and every other
 * serving instance to 0, in one fenced write that every gateway live when the rollout began
 * must acknowledge with HAProxy's own weights. The other colour keeps running, checked, at 0.
 */
export async function switchTraffic(deps: WeightDeps, prefix: string, to: readonly string[], from: readonly string[]): Promise<string> {
  const weights = new Map<string, WeightTarget>([...to.map((n) => [n, 'default'] as const), ...from.map((n) => [n, 0] as const)])
  const back = new Map<string, WeightTarget>([...to.map((n) => [n, 0] as const), ...from.map((n) => [n, 'default'] as const)])
  const change = await applyWeights(deps, prefix, weights).catch(async (err: unknown) => {
    // Not every gateway switched: switch back before the rollback withdraws `to`, or `from` would be left at 0.
    await applyWeights(deps, prefix, back).catch(() => undefined)
    throw err
  })
  const acked = change.gateways.length ? `, acknowledged by ${change.gateways.length} gateway${change.gateways.length === 1 ? '' : 's'} in ${change.ms}ms` : ' (no gateway: nothing acknowledged it)'
  return `switched all traffic to ${to.length} instance${to.length === 1 ? '' : 's'} (${to.join(', ')}) in one step; ${from.length} kept at weight 0${acked}`
}

/**
 * A rollback or promote whose target revision stands by at weight 0 (the colour blue/green kept,
 * or the one held before its switch): switch to it first, in one step, so the plan's retires only
 * ever drain the colour that no longer gets traffic. Undefined when nothing stands by.
 */
export async function switchToStandby(deps: WeightDeps & Pick<StepDeps, 'ctx'>, prefix: string, revision: number, instances: readonly ObservedInstance[]): Promise<string | undefined> {
  const serving = instances.filter((i) => i.registered && i.running && (i.prefix ?? prefix) === prefix)
  const target = serving.filter((i) => i.revision === revision).map((i) => i.name)
  if (target.length === 0) return undefined
  const weights = await readWeights(deps.ctx.etcd, prefix, deps.ctx.config.recordsRoot)
  if (!target.some((n) => weights.get(n) === 0)) return undefined
  return switchTraffic(deps, prefix, target, serving.filter((i) => i.revision !== revision).map((i) => i.name))
}

/**
 * Whether `revision` of the app still stands by under the prefix: at least one of its instances
 * registered with weight 0 (blue/green kept it). A rollback then switches back to it instead of
 * starting a new revision.
 */
export async function standsBy(ctx: Pick<Context, 'etcd' | 'registry' | 'config'>, app: string, prefix: string, revision: number): Promise<boolean> {
  const names = [...(await ctx.registry.list(prefix, instanceNamePrefix(app))).keys()].filter((n) => parseInstanceName(app, n)?.revision === revision)
  if (names.length === 0) return false
  const weights = await readWeights(ctx.etcd, prefix, ctx.config.recordsRoot)
  return names.some((n) => weights.get(n) === 0)
}

/** Room for both revisions on every host (ports, and memory when container.memory is set), before anything starts: else HOST_NOT_READY (exit 2). */
export async function checkBlueGreenCapacity(deps: Pick<StepDeps, 'host'>, spec: DeploymentSpec, plan: RolloutPlan, instances: readonly ObservedInstance[]): Promise<void> {
  if (!plan.waves.some((w) => w.switch)) return
  const kept = instances.filter((i) => i.running && i.revision !== plan.toRevision)
  const perHost = instancesPerHost(plan, kept.map((i) => i.host))
  const memory = spec.container?.resources?.memory
  const memoryLimitBytes = memory ? parseBytes(String(memory)) : undefined
  const memoryOf = new Map<string, number>()
  if (memoryLimitBytes) {
    for (const host of perHost.keys()) {
      const bytes = await deps.host(host || undefined).runtime.memoryBytes?.()
      if (bytes) memoryOf.set(host, bytes)
    }
  }
  const problems = capacityProblems({ perHost, ports: spec.hostPorts, ...(memoryLimitBytes ? { memoryLimitBytes } : {}), memoryOf })
  if (problems.length) {
    throw new ForrestError('HOST_NOT_READY', `blue-green needs room for two full revisions, and nothing was started:\n    ${problems.join('\n    ')}`, {
      suggestion: 'Make room as the lines say, or deploy with update.strategy: rolling (one revision at a time).',
    })
  }
}
