import type { ContainerRuntime, PullProgress, RegistryAuth } from '../docker/runtime.js'
import { ForrestError } from '../errors.js'
import type { PullPolicy } from '../spec/types.js'

export type { PullPolicy }

/** A Docker engine and the name people know its host by. */
export interface HostRuntime {
  name: string
  runtime: ContainerRuntime
}

/** What happens on one host, as it happens (for the progress view). */
export type HostPullEvent =
  | { host: string; kind: 'start'; pulling: boolean }
  | { host: string; kind: 'progress'; progress: PullProgress }
  | { host: string; kind: 'done'; pulled: boolean; ms: number }
  | { host: string; kind: 'failed'; error: ForrestError; ms: number }

export interface PrePullReport {
  ref: string
  hosts: Array<{ host: string; pulled: boolean; ms: number }>
  ms: number
}

/** Credentials, or a function finding them on first need (a credential helper is only run if a pull happens). */
export type AuthSource = RegistryAuth | undefined | (() => Promise<RegistryAuth | undefined>)

/** A pre-pull that failed on some hosts: every failed host with its own error. */
export class PrePullFailed extends ForrestError {
  constructor(
    readonly ref: string,
    readonly failures: Array<{ host: string; error: ForrestError }>,
    readonly succeeded: string[],
  ) {
    const first = failures[0]!.error
    const total = failures.length + succeeded.length
    const lines = failures.map((f) => `  ${f.host}: ${f.error.message}`)
    super(first.code, `could not make ${ref} present on ${failures.map((f) => f.host).join(', ')} (${failures.length} of ${total} host${total === 1 ? '' : 's'}); nothing was changed:\n${lines.join('\n')}`, {
      cause: first,
      suggestion: first.suggestion,
      detail: { ref, failed: failures.map((f) => ({ host: f.host, code: f.error.code, exit: f.error.exit, message: f.error.message })), succeeded },
    })
    this.name = 'PrePullFailed'
  }
}

/**
 * Makes `ref` present on every host, in parallel, before anything changes. Policy `missing`
 * pulls where the engine lacks `ref`, `always` pulls everywhere, `never` pulls nowhere and
 * requires every engine to have it. Waits for every host, then throws PrePullFailed naming each
 * host that failed (with its exit code: the first failed host's); an image pulled elsewhere meanwhile stays (it changes no app).
 * Pass `ref` pinned by digest (name@sha256:...) so every host gets the same bytes.
 */
export async function prePull(hosts: HostRuntime[], ref: string, policy: PullPolicy, auth: AuthSource, onEvent?: (e: HostPullEvent) => void, signal?: AbortSignal): Promise<PrePullReport> {
  const t0 = Date.now()
  let authOnce: Promise<RegistryAuth | undefined> | undefined
  const getAuth = () => (authOnce ??= typeof auth === 'function' ? auth() : Promise.resolve(auth))
  const one = async ({ name, runtime }: HostRuntime): Promise<{ host: string; pulled: boolean; ms: number }> => {
    const t = Date.now()
    try {
      const present = policy === 'always' ? false : Boolean(await runtime.findImage(ref))
      if (policy === 'never' && !present) {
        throw new ForrestError('IMAGE_NOT_FOUND', `${ref} is not on this host, and is not to be pulled (pull: never, or not from a registry)`, {
          suggestion: 'Load the image on every host first, or push it to a registry and set pull: missing.',
        })
      }
      onEvent?.({ host: name, kind: 'start', pulling: !present })
      if (!present) {
        if (signal?.aborted) throw new ForrestError('INTERRUPTED', 'interrupted before the pull')
        await runtime.pull(ref, await getAuth(), (progress) => onEvent?.({ host: name, kind: 'progress', progress }), signal)
      }
      const ms = Date.now() - t
      onEvent?.({ host: name, kind: 'done', pulled: !present, ms })
      return { host: name, pulled: !present, ms }
    } catch (err) {
      const error = err instanceof ForrestError ? err : new ForrestError('INTERNAL', (err as Error).message ?? String(err), { cause: err })
      onEvent?.({ host: name, kind: 'failed', error, ms: Date.now() - t })
      throw error
    }
  }
  const results = await Promise.allSettled(hosts.map(one))
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ host: hosts[i]!.name, error: r.reason as ForrestError }] : []))
  const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
  if (failures.length) throw new PrePullFailed(ref, failures, done.map((d) => d.host))
  return { ref, hosts: done, ms: Date.now() - t0 }
}
