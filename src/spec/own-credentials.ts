/**
 * forrest's own credential variables, in one place: what the deploy job holds to reach the
 * registry and etcd, and the fingerprint key. A deployment file names its secrets
 * (`{fromEnv: NAME}`), and whoever can edit the file must not be able to pass any of these to a
 * container they control. Validation refuses them (exit 2); resolving refuses them again.
 */
export const OWN_CREDENTIAL_VARIABLES: readonly string[] = [
  'FORREST_REGISTRY_USER',
  'FORREST_REGISTRY_PASSWORD',
  'FORREST_REGISTRY_PASSWORD_FILE',
  'FORREST_REGISTRY_AUTH_FILE',
  'FORREST_SECRET_KEY',
  'FORREST_ETCD_PASSWORD_FILE',
  'ETCDCTL_USER', // may be user:password
  'ETCDCTL_PASSWORD',
  'ETCDCTL_KEY',
  'ETCDCTL_CERT',
  'DOCKER_CERT_PATH',
  'DOCKER_CONFIG',
]

const OWN = new Set(OWN_CREDENTIAL_VARIABLES)

/** Why `{fromEnv: name}` is refused, or undefined when it may be passed. */
export function ownCredentialProblem(name: string): string | undefined {
  if (!OWN.has(name)) return undefined
  return `$${name} is one of forrest's own credentials and is never passed to a container; give the app its own variable (e.g. export APP_${name.replace(/^(FORREST_|ETCDCTL_|DOCKER_)/, '')} in the deploy job) and write {fromEnv: APP_${name.replace(/^(FORREST_|ETCDCTL_|DOCKER_)/, '')}}`
}

/** A copy of `env` without forrest's own credentials (a deploy hook's environment starts from it). */
export function withoutOwnCredentials(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !OWN.has(k)))
}
