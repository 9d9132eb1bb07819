import type { ForrestConfig } from '../config.js'
import type { ContainerRuntime } from '../docker/runtime.js'
import { ForrestError } from '../errors.js'
import type { RevisionRecord } from '../registry/records.js'

/**
 * Why an instance that runs did not pass its health check, when the image says: the file's
 * `port` is not one the image EXPOSEs (the app listens on 8080, the file says 80, the probe gets
 * ECONNRESET from the port proxy). Undefined when the ports agree or the image names none.
 */
export async function portMismatch(runtime: ContainerRuntime, image: string, port: number): Promise<string | undefined> {
  const exposed: number[] = await runtime.findImage(image).then((i) => i?.exposedPorts ?? [], () => [])
  if (!exposed.length || exposed.includes(port)) return undefined
  const listed = exposed.join(', ')
  const fix = exposed.length === 1 ? `set \`port: ${exposed[0]}\` in the file (or leave port out to use it)` : `set \`port:\` to the one the app listens on`
  return `the image EXPOSEs ${listed}, but the file says port: ${port}: ${fix}`
}

/**
 * A start that failed because the announce (bind) address is not one of the host's: the same for
 * every instance, so the rollout failed on input, not on the app. Undefined for any other failure.
 */
export function addressNotOnHost(failures: readonly ForrestError[], config: Pick<ForrestConfig, 'ipSource' | 'bindOverride'>, withHosts: boolean): string | undefined {
  if (!failures.some((f) => f.code === 'ADDRESS_NOT_ON_HOST')) return undefined
  if (withHosts) return "Set that host's address in the file's hosts: list to one the host has (ip -4 addr on it lists them), then deploy again."
  const setting = config.bindOverride ? 'FORREST_BIND_IP' : config.ipSource === 'flag' ? '--ip' : config.ipSource === 'FORREST_IP' ? 'FORREST_IP (or announce.address in the file)' : 'announce.address in the file (or FORREST_IP)'
  return `Set ${setting} to an address this host has (ip -4 addr lists them), or FORREST_BIND_IP=0.0.0.0 to publish on every interface while announcing FORREST_IP; then deploy again.`
}

export const addressError = (message: string, suggestion: string, detail: unknown) => new ForrestError('ADDRESS_NOT_ON_HOST', message, { suggestion, detail })

export const hasLogLines = (reason: string) => reason.includes('last log lines of ')

/**
 * What to do after a failed rollout that was not rolled back. A first deploy leaves no app:
 * `rollback`, `status` and `history` answer "no app has been deployed", so only a new deploy helps.
 */
export function failedHint(app: string, deployedBefore: boolean, reason: string, canRollBack = true): string {
  const logs = hasLogLines(reason) ? ' (its last log lines are above)' : ''
  if (!deployedBefore) return `${app} has no deployed revision yet (this was its first deploy), so rollback and status have nothing to show. Fix the cause${logs}, then deploy again: forrest deploy FILE.`
  // `forrest rollback` would refuse (no earlier good revision): never hint it.
  if (!canRollBack) return `Fix the cause${logs}, then deploy again (forrest deploy FILE); \`forrest status ${app}\` shows what is running (${app} has no earlier good revision to roll back to).`
  return `Fix the cause${logs}, then deploy again or run \`forrest rollback ${app}\`; \`forrest status ${app}\` shows what is running.`
}

/** Whether `forrest rollback APP` has a revision to go to (as it chooses one): an earlier succeeded one running something else. Pure. */
export const hasRollbackTarget = (revisions: readonly RevisionRecord[], current: RevisionRecord): boolean =>
  revisions.some((r) => r.revision < current.revision && r.outcome === 'succeeded' && r.templateHash !== current.templateHash)
