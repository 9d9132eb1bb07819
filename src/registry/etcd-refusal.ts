import { ForrestError } from '../errors.js'

/**
 * etcd answered, but refused: a bad user or password, or a role without the key. These are
 * never retried and name the cause, so a CI log says what to fix.
 */
export function etcdRefusal(err: unknown, what?: string): ForrestError | undefined {
  if (!(err instanceof Error)) return undefined
  const text = `${err.name} ${err.message}`
  const on = what ? ` (${what})` : ''
  // etcd's own wording only: a file system's "EACCES: permission denied" is not etcd's refusal.
  if (/PermissionDenied|etcdserver: permission denied/i.test(text)) {
    return new ForrestError('ETCD_PERMISSION_DENIED', `etcd denied forrest's user access${on}: permission denied`, {
      cause: err,
      suggestion: "Grant the user's role readwrite on the instance prefix and on forrest's records root (README: Production, least privilege), or check ETCDCTL_USER.",
    })
  }
  if (/AuthenticationFailed|authentication failed|invalid user ID or password/i.test(text)) {
    return new ForrestError('ETCD_AUTH_FAILED', 'etcd rejected the user name or password', {
      cause: err,
      suggestion: 'Check ETCDCTL_USER and ETCDCTL_PASSWORD (or FORREST_ETCD_PASSWORD_FILE / --etcd-password-file).',
    })
  }
  if (/user name is empty|UserEmpty|AuthNotEnabled|auth.*not enabled|InvalidAuthToken|invalid auth token/i.test(text)) {
    return new ForrestError('ETCD_AUTH_FAILED', `etcd requires authentication: ${err.message.replace(/^.*etcdserver: /, '')}`, {
      cause: err,
      suggestion: 'Set ETCDCTL_USER and ETCDCTL_PASSWORD (or --etcd-user and --etcd-password-file) to an etcd user with the forrest role.',
    })
  }
  return undefined
}
