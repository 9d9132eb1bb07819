import type { DeploymentSpec, EnvValue, SecretRef } from './types.js'

/**
 * Secrets in a deployment spec, the pure part. A secret is an env value written
 * {fromEnv: NAME} or {fromFile: PATH}, or any variable of `envFile`. Its value exists only in
 * memory while a rollout runs and in the container's environment: the recorded spec keeps the
 * reference, and a keyed fingerprint per secret (so a changed secret still makes a new revision).
 */
export const isSecretRef = (v: EnvValue | undefined): v is SecretRef => typeof v === 'object' && v !== null

/**
 * The env as it defines a revision: plain values as written, each secret as its fingerprint.
 * Stable under key order; a secret whose value changed gets another fingerprint.
 */
export function envForHash(spec: Pick<DeploymentSpec, 'env' | 'envFile'>, fingerprints: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(spec.env)) out[name] = isSecretRef(value) ? `secret:${fingerprints[name] ?? '?'}` : value
  for (const [name, fp] of Object.entries(fingerprints)) if (!(name in spec.env)) out[name] = `secret:${fp}`
  return out
}
