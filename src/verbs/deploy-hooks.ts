import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { ForrestError, toForrestError } from '../errors.js'
import { runHook } from '../deploy-hooks/run-hook.js'
import type { RolloutResult } from '../engine/types.js'
import { withoutOwnCredentials } from '../spec/own-credentials.js'
import type { DeploymentSpec } from '../spec/types.js'

type HookName = 'preDeploy' | 'postDeploy' | 'onFailure'
const ENV_NAME: Record<HookName, string> = { preDeploy: 'pre-deploy', postDeploy: 'post-deploy', onFailure: 'on-failure' }

/**
 * The deploy's hooks (spec `hooks:`), run on this machine from the file's folder with the
 * deploy's facts in FORREST_* variables. pre: a failure is HOOK_FAILED (exit 21) before
 * anything changed. post and onFailure: a failure is a warning on stderr; the deploy's own
 * outcome and exit code stand. The result (or the error) is written to a JSON file for them.
 */
export function deployHooks(spec: DeploymentSpec, file: string, facts: { image: string; imageId: string; digest?: string; actor: string }) {
  const hooks = spec.hooks
  const cwd = dirname(resolve(file))
  const base = { FORREST_APP: spec.name, FORREST_IMAGE: facts.image, FORREST_IMAGE_ID: facts.imageId, FORREST_DIGEST: facts.digest ?? '', FORREST_ACTOR: facts.actor }
  const run = async (name: HookName, extra: Record<string, string>, json?: unknown) => {
    const argv = hooks?.[name]
    if (!argv) return undefined
    const dir = json === undefined ? undefined : await mkdtemp(join(tmpdir(), 'forrest-hook-'))
    try {
      const resultFile = dir ? join(dir, 'result.json') : ''
      if (dir) await writeFile(resultFile, JSON.stringify(json, null, 2))
      const env = hookEnvironment(process.env, { ...base, FORREST_HOOK: ENV_NAME[name], FORREST_RESULT: resultFile, ...extra })
      const r = await runHook(argv, { cwd, env, timeoutMs: hooks!.timeout })
      if (r.exitCode === 0 && !r.timedOut) return undefined
      return r.error ? `could not start ${JSON.stringify(argv[0])}: ${r.error}` : r.timedOut ? `timed out after ${hooks!.timeout / 1000}s (hooks.timeout)` : `exited ${r.exitCode}`
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true })
    }
  }
  const warn = (name: HookName, problem: string | undefined) => {
    if (problem) process.stderr.write(`Warning: hooks.${name} ${JSON.stringify(hooks![name])} ${problem}; the deploy's outcome stands\n`)
  }
  return {
    async pre(): Promise<void> {
      const problem = await run('preDeploy', { FORREST_OUTCOME: '', FORREST_EXIT_CODE: '' })
      if (problem) {
        throw new ForrestError('HOOK_FAILED', `hooks.preDeploy ${JSON.stringify(hooks!.preDeploy)} ${problem}: the deploy of ${spec.name} stopped before anything changed`, {
          suggestion: 'Its output is above. Fix what it checks (or the hook), then deploy again.',
        })
      }
    },
    async post(result: RolloutResult): Promise<void> {
      warn('postDeploy', await run('postDeploy', revisionEnv(result, 0), result))
    },
    async failed(err: unknown): Promise<void> {
      const fe = toForrestError(err)
      const detail = fe.detail as Partial<RolloutResult> | undefined
      const json = { ok: false, error: { code: fe.code, exit: fe.exit, message: fe.message, suggestion: fe.suggestion, detail: fe.detail } }
      warn('onFailure', await run('onFailure', { ...revisionEnv(detail ?? {}, fe.exit), FORREST_OUTCOME: detail?.outcome ?? 'failed', FORREST_ERROR: fe.code }, json))
    },
  }
}

/**
 * A hook's environment: the job's, without forrest's own credentials (spec/own-credentials.ts), and
 * the deploy's facts on top. A hook is code the deployment file runs with the job's privileges;
 * it needs no registry password, etcd password or fingerprint key of forrest's. Pure.
 */
export const hookEnvironment = (jobEnv: NodeJS.ProcessEnv, facts: Record<string, string>): NodeJS.ProcessEnv => ({ ...withoutOwnCredentials(jobEnv), ...facts })

const revisionEnv = (r: Partial<RolloutResult>, exit: number): Record<string, string> => ({
  FORREST_REVISION: r.revision === undefined ? '' : String(r.revision),
  FORREST_FROM_REVISION: r.fromRevision === undefined ? '' : String(r.fromRevision),
  FORREST_OUTCOME: r.outcome ?? '',
  FORREST_EXIT_CODE: String(exit),
})
