import type { ContainerInfo } from '../docker/runtime.js'
import { ForrestError } from '../errors.js'
import { probeFor } from '../health/probe.js'
import { forrestLabels } from '../labels.js'
import type { AdoptStep, RetireStep, StartStep } from '../plan/types.js'
import { stopAndRemove } from './instance-ops.js'
import type { HostTarget, StepDeps, StepOutcome, WorkerTemplate } from './steps.js'

/**
 * The steps of a worker process (`announced: false`): no published port, no key, no instance
 * record, no gateway acknowledgement, no drain. start = launch → healthy (Docker's HEALTHCHECK or
 * running for health.running); retire = stop with the process's signal and grace period, remove.
 */

function workerTemplate(deps: StepDeps, revision: number, process: string): { image: string; templateHash: string; env: Record<string, string>; labels: Record<string, string>; worker: WorkerTemplate } {
  const tpl = deps.template(revision)
  const worker = tpl.processes?.[process]
  if (!worker) throw new ForrestError('INTERNAL', `revision ${revision} of ${deps.app} has no process ${process}`)
  return { image: tpl.image, templateHash: tpl.templateHash, env: tpl.env, labels: tpl.labels, worker }
}

/** launch → healthy; on failure the container is removed again, its last log lines in the message. */
export async function startWorker(deps: StepDeps, step: StartStep & { process: string }): Promise<StepOutcome> {
  const t0 = Date.now()
  if (deps.signal.aborted) throw new ForrestError('INTERRUPTED', 'interrupted', { suggestion: 'Run the same command again: it picks up from the state that is there.' })
  const tpl = workerTemplate(deps, step.revision, step.process)
  const host = deps.host(step.host)
  deps.assertHeld()
  const c = await host.runtime.run({
    name: step.instance,
    image: tpl.image,
    env: tpl.env,
    command: tpl.worker.command,
    labels: {
      ...deps.ctx.config.extraLabels,
      ...tpl.labels,
      ...forrestLabels({ owner: deps.identity.owner, app: deps.app, kind: 'rollout', revision: step.revision, template: tpl.templateHash, prefix: deps.prefix, process: step.process }),
    },
    restart: 'unless-stopped',
    settings: tpl.worker.settings,
    stopGraceSeconds: tpl.worker.stopGracePeriod / 1000,
  })
  deps.mark?.(step.instance, 'started')
  return waitHealthy(deps, host, c, tpl.worker, t0)
}

/** A running worker container of the target revision (an interrupted run's): health, nothing to announce. */
export async function adoptWorker(deps: StepDeps, step: AdoptStep & { process: string }): Promise<StepOutcome> {
  const host = deps.host(step.host)
  const c = await host.runtime.inspect(step.instance)
  if (!c) throw new ForrestError('ROLLOUT_FAILED', `${step.instance} disappeared from ${host.name} before it could be adopted`)
  return waitHealthy(deps, host, c, workerTemplate(deps, step.revision, step.process).worker, Date.now())
}

async function waitHealthy(deps: StepDeps, host: HostTarget, c: ContainerInfo, worker: WorkerTemplate, t0: number): Promise<StepOutcome> {
  try {
    const health = await probeFor(host.runtime, worker.health).waitUntilHealthy({ containerId: c.id, name: c.name, address: '' }, deps.signal)
    deps.mark?.(c.name, 'healthy')
    const how = worker.health.type === 'docker' ? 'HEALTHCHECK healthy' : worker.health.type === 'command' ? 'health command passed' : `running ${worker.health.running ?? 0}ms`
    return { detail: `${how} in ${health.ms}ms (worker: not announced)`, ms: Date.now() - t0 }
  } catch (err) {
    const logs = (await host.runtime.logs(c.id, 20).catch(() => '')).trim()
    deps.assertHeld()
    await host.runtime.remove(c.id).then(() => deps.mark?.(c.name, 'stopped')).catch(() => undefined)
    const base = err instanceof ForrestError ? err.message : `${c.name}: ${(err as Error).message}`
    throw new ForrestError('ROLLOUT_FAILED', `${base}; removed it${logs ? `\n  last log lines of ${c.name}:\n    ${logs.split('\n').join('\n    ')}` : ''}`, { cause: err })
  }
}

/** stop (the process's signal, then SIGKILL after its grace period) → remove. Nothing to withdraw or drain. */
export async function retireWorker(deps: StepDeps, step: RetireStep, containerId: string | undefined, deferStop?: (stopping: Promise<void>) => void): Promise<StepOutcome> {
  const t0 = Date.now()
  if (!containerId) return { detail: 'no container', ms: Date.now() - t0 }
  deps.assertHeld()
  const grace = step.stopGracePeriod ?? deps.update.stopGracePeriod
  const stopping = stopAndRemove(deps.host(step.host).runtime, containerId, grace / 1000).then(() => deps.mark?.(step.instance, 'stopped'))
  if (deferStop) {
    deferStop(stopping)
    return { detail: `worker, stopping (grace ${grace}ms)`, ms: Date.now() - t0 }
  }
  await stopping
  return { detail: `worker, stopped (grace ${grace}ms)`, ms: Date.now() - t0 }
}
