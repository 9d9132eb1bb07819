import { ForrestError, type ErrorCode } from '../errors.js'

/**
 * What a registry failure means, from what dockerd answers (it talks to the registry and passes
 * the registry's or the network's error on as text). Checked in this order, since one message
 * can match several: "x509: ... unknown authority" is about trust, "pull access denied ...
 * may require 'docker login'" is Docker Hub's answer for both a private and a missing repository.
 * Pure.
 */
export function classifyRegistryError(status: number | undefined, message: string): ErrorCode | undefined {
  const m = message.toLowerCase()
  if (/handshake timeout|i\/o timeout|connection refused|no route to host|no such host|network is unreachable|connection reset|server misbehaving|temporary failure in name resolution|dial tcp|: eof$/.test(m)) {
    return /x509|certificate/.test(m) ? 'REGISTRY_TLS' : 'REGISTRY_UNREACHABLE'
  }
  if (/x509|certificate|tls: |http response to https client|server gave http response/.test(m)) return 'REGISTRY_TLS'
  if (status === 401 || /unauthorized|authentication required|no basic auth credentials|access denied|denied: |incorrect username or password/.test(m)) return 'REGISTRY_AUTH_FAILED'
  if (status === 404 || /manifest unknown|not found|name unknown|repository does not exist/.test(m)) return 'IMAGE_NOT_FOUND'
  return undefined
}

const HINT: Record<string, (registry: string) => string> = {
  REGISTRY_AUTH_FAILED: (r) =>
    // Every source, in the order forrest reads them: `docker login` does not help while an earlier one is set.
    `Fix the credentials forrest sent to ${r}, from the first of: FORREST_REGISTRY_USER with FORREST_REGISTRY_PASSWORD (or FORREST_REGISTRY_PASSWORD_FILE) when FORREST_REGISTRY_SERVER=${r}; the "${r}" entry of the file FORREST_REGISTRY_AUTH_FILE names, when it is set; docker login ${r} (the docker CLI's config.json and its credential helpers).`,
  IMAGE_NOT_FOUND: (r) => `Check the repository and tag (pushed to ${r}?), and that the credentials may read it.`,
  REGISTRY_UNREACHABLE: (r) => `The Docker engine could not connect to ${r}: check the address, the network and any proxy between the engine and the registry.`,
  REGISTRY_TLS: (r) =>
    `The Docker engine does not trust ${r}'s certificate: put the registry's CA in /etc/docker/certs.d/${r}/ca.crt on that host (no restart needed), or fix the certificate.`,
}

const WHAT: Record<string, string> = {
  IMAGE_NOT_FOUND: 'no such repository or tag',
  REGISTRY_UNREACHABLE: 'registry unreachable',
  REGISTRY_TLS: 'registry certificate not trusted',
}

/**
 * A registry failure as a ForrestError, or undefined when it is not one. `user`: whose
 * credentials were sent (undefined: none were found); never the password.
 */
export function registryError(what: string, ref: string, registry: string, status: number | undefined, message: string, user: string | undefined, cause?: unknown): ForrestError | undefined {
  const code = classifyRegistryError(status, message)
  if (!code) return undefined
  const why = code === 'REGISTRY_AUTH_FAILED' ? (user === undefined ? 'the registry wants credentials and forrest found none' : `the registry refused the credentials of ${user}`) : WHAT[code]
  return new ForrestError(code, `${what} ${ref}: ${why}: ${message}`, { cause, suggestion: HINT[code]!(registry) })
}
