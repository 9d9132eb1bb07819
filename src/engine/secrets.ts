import { scryptSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { ForrestError } from '../errors.js'
import { ownCredentialProblem } from '../spec/own-credentials.js'
import { isSecretRef } from '../spec/secrets.js'
import type { DeploymentSpec } from '../spec/types.js'

/** The env a container gets, and what of it is secret. Only ever in memory. */
export interface ResolvedEnv {
  /** Every variable with its real value, secrets included: for the container and nothing else. */
  values: Record<string, string>
  /** Secret name → keyed fingerprint (recorded instead of the value). */
  fingerprints: Record<string, string>
}

/** Paths of secrets (fromFile, envFile) made absolute against the deployment file's folder, as recorded. */
export function absoluteSecretPaths<T extends Pick<DeploymentSpec, 'env' | 'envFile'>>(spec: T, baseDir: string): T {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p))
  const env = Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, isSecretRef(v) && 'fromFile' in v ? { fromFile: abs(v.fromFile) } : v]))
  return { ...spec, env, ...(spec.envFile ? { envFile: abs(spec.envFile) } : {}) }
}

/**
 * Reads every secret of a spec from the deploy job's environment and files. A secret that
 * cannot be read is bad input naming the variable and its source (never a value), raised
 * before anything is touched.
 */
export function resolveEnv(spec: Pick<DeploymentSpec, 'name' | 'env' | 'envFile' | 'command'>, jobEnv: NodeJS.ProcessEnv, key = jobEnv.FORREST_SECRET_KEY): ResolvedEnv {
  const values: Record<string, string> = {}
  const fingerprints: Record<string, string> = {}
  const secret = (name: string, value: string) => {
    values[name] = value
    fingerprints[name] = fingerprint(spec.name, name, value, key)
  }
  if (spec.envFile) {
    for (const [name, value] of Object.entries(parseEnv(readSecretFile(spec.envFile, 'envFile')))) secret(name, value ?? '')
  }
  for (const [name, value] of Object.entries(spec.env)) {
    if (!isSecretRef(value)) values[name] = value
    else if ('fromEnv' in value) {
      // Validation refused it already; a recorded spec is checked again here.
      const own = ownCredentialProblem(value.fromEnv)
      if (own) throw new ForrestError('BAD_INPUT', `env.${name} of ${spec.name}: ${own}; nothing was changed`)
      const v = jobEnv[value.fromEnv]
      if (v === undefined) {
        throw new ForrestError('BAD_INPUT', `env.${name} of ${spec.name} comes from $${value.fromEnv}, which is not set in this environment; nothing was changed`, {
          suggestion: `Export ${value.fromEnv} in the deploy job (e.g. from your CI's secret store) and run again.`,
        })
      }
      secret(name, v)
    } else secret(name, readSecretFile(value.fromFile, `env.${name}`).replace(/\r?\n$/, ''))
  }
  refuseSecretsInCommand(spec, Object.keys(fingerprints).map((n) => values[n]!))
  return { values, fingerprints }
}

/** `command:` is shown whole in plans and history, so a secret value must not be in it. */
function refuseSecretsInCommand(spec: Pick<DeploymentSpec, 'name' | 'command'>, secrets: string[]): void {
  const leaked = (spec.command ?? []).findIndex((arg) => secrets.some((s) => s.length >= 4 && arg.includes(s)))
  if (leaked >= 0) {
    throw new ForrestError('BAD_INPUT', `command[${leaked}] of ${spec.name} contains the value of a secret; command lines are shown in plans, history and \`docker ps\`, secrets are not`, {
      suggestion: 'Pass the secret through env ({fromEnv: NAME}) and read it from the environment in the container.',
    })
  }
}

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new ForrestError('BAD_INPUT', `cannot read the secret file of ${what} (${path}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; nothing was changed`, {
      cause: err,
      suggestion: 'Make the file readable by the deploy job, or fix its path (relative paths are relative to the deployment file).',
    })
  }
}

/**
 * A keyed, slow fingerprint: scrypt over the value, salted with app and variable name and the
 * optional FORREST_SECRET_KEY (which never leaves the deploy job). Equal values give equal
 * fingerprints, so a changed secret makes a new revision; without the key a reader of etcd can
 * only test guesses, at scrypt's cost each — with it, not even that.
 */
export function fingerprint(app: string, name: string, value: string, key = ''): string {
  return scryptSync(value, `forrest:${app}:${name}:${key}`, 16, { N: 1 << 14, r: 8, p: 1 }).toString('base64url')
}

/**
 * The env of a recorded revision, for running it again (scale, rollback, undo): its secrets
 * read now must be what it ran with, or its instances would differ from their siblings.
 */
export function resolveRecordedEnv(rec: { revision: number; spec: DeploymentSpec; secretFingerprints?: Record<string, string> }, jobEnv: NodeJS.ProcessEnv): ResolvedEnv {
  const env = resolveEnv(rec.spec, jobEnv)
  const recorded = rec.secretFingerprints ?? {}
  const changed = [...new Set([...Object.keys(recorded), ...Object.keys(env.fingerprints)])].filter((n) => recorded[n] !== env.fingerprints[n])
  if (changed.length > 0) {
    throw new ForrestError('BAD_INPUT', `revision ${rec.revision} of ${rec.spec.name} ran with other values of ${changed.map((n) => `env.${n}`).join(', ')} than this environment has now (their fingerprints differ); nothing was changed`, {
      suggestion: 'Run with the secrets that revision used, or deploy the file to make a new revision with the current ones.',
    })
  }
  return env
}
