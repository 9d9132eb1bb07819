import { createHash } from 'node:crypto'
import { envForHash } from './secrets.js'
import type { DeploymentSpec } from './types.js'

/**
 * Identity of a revision: what the containers run (image id, command, env, port, labels,
 * health, container settings, release command, each worker's command, health and settings; a secret by its fingerprint) and where they are announced (prefix, address: a change there is a migration, rolled
 * out within the bounds like any new revision). Replicas and the update strategy are left out:
 * changing them scales but does not need new containers. Hex sha256.
 */
export function specTemplateHash(spec: DeploymentSpec, imageId: string, secretFingerprints: Readonly<Record<string, string>> = {}): string {
  const template = {
    imageId,
    command: spec.command ?? null,
    env: envForHash(spec, secretFingerprints),
    port: spec.port ?? null,
    labels: spec.labels,
    health: spec.health,
    announce: spec.announce,
    // Left out when absent (undefined is dropped), so apps without settings keep their hash.
    container: spec.container,
    // Absent is left out of the hash (stableStringify drops undefined): files without one keep their revisions.
    release: spec.release,
    // Workers: what their containers run (replicas, strategy and placement scale, as for web).
    processes: spec.processes && Object.fromEntries(Object.entries(spec.processes).map(([name, p]) => [name, { command: p.command ?? null, health: p.health, container: p.container }])),
  }
  return createHash('sha256').update(stableStringify(template)).digest('hex')
}

/** JSON with object keys sorted, so key order in the YAML does not change the hash. */
function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}
