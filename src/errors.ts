/**
 * Every error a user can hit, with a stable code and exit number. The base command is the only
 * place that turns these into output and an exit code; everything else just throws them.
 */
export const EXIT = {
  ok: 0,
  internal: 1,
  badInput: 2,
  rolledBack: 3,
  failed: 4,
  lockHeld: 5,
  etcdUnreachable: 6,
  dockerUnreachable: 7,
  notFound: 8,
  conflict: 9,
  notConverged: 10,
  gatewaysMissing: 11,
  lockLost: 12,
  etcdTls: 13,
  etcdAuth: 14,
  etcdPermission: 15,
  registryAuth: 16,
  registryUnreachable: 17,
  registryTls: 18,
  waitingForPromotion: 19,
  releaseFailed: 20,
  hookFailed: 21,
  noRoom: 22,
  interrupted: 130,
} as const

export type ErrorCode =
  | 'BAD_INPUT'
  | 'INVALID_SPEC'
  | 'HOST_NOT_READY'
  | 'LOGS_UNREADABLE'
  | 'ROLLED_BACK'
  | 'ROLLOUT_FAILED'
  | 'LOCK_HELD'
  | 'ETCD_UNREACHABLE'
  | 'ETCD_NOT_ETCD'
  | 'DOCKER_UNREACHABLE'
  | 'IMAGE_NOT_FOUND'
  | 'CONTAINER_NOT_FOUND'
  | 'APP_NOT_FOUND'
  | 'REVISION_NOT_FOUND'
  | 'NOT_FORREST_CONTAINER'
  | 'NAME_TAKEN'
  | 'KEY_CONFLICT'
  | 'NO_EXPOSED_PORT'
  | 'ADDRESS_NOT_ON_HOST'
  | 'NOT_CONVERGED'
  | 'REVISION_CHANGED'
  | 'GATEWAY_UNREACHABLE'
  | 'GATEWAYS_MISSING'
  | 'LOCK_LOST'
  | 'ETCD_TLS_FAILED'
  | 'ETCD_AUTH_FAILED'
  | 'ETCD_PERMISSION_DENIED'
  | 'PORT_TAKEN'
  | 'REGISTRY_AUTH_FAILED'
  | 'REGISTRY_UNREACHABLE'
  | 'REGISTRY_TLS'
  | 'INTERRUPTED'
  | 'WAITING_FOR_PROMOTION'
  | 'RELEASE_FAILED'
  | 'HOOK_FAILED'
  | 'NO_ROOM'
  | 'INTERNAL'

const EXIT_BY_CODE: Record<ErrorCode, number> = {
  BAD_INPUT: EXIT.badInput,
  INVALID_SPEC: EXIT.badInput,
  /** A host lacks what container settings need (a user network, a bind mount's path): refused before anything changed. */
  HOST_NOT_READY: EXIT.badInput,
  /** The container's logging driver cannot be read back by the engine (syslog, fluentd...). */
  LOGS_UNREADABLE: EXIT.failed,
  NO_EXPOSED_PORT: EXIT.badInput,
  /** FORREST_IP (or a host's address) is not an address of the Docker host: ports cannot be published on it. */
  ADDRESS_NOT_ON_HOST: EXIT.badInput,
  ROLLED_BACK: EXIT.rolledBack,
  /** update.canary.pause: the canary passed and the rollout holds for `forrest promote` / `forrest abort` (not a failure: CI branches on it). */
  WAITING_FOR_PROMOTION: EXIT.waitingForPromotion,
  ROLLOUT_FAILED: EXIT.failed,
  /** The release command exited non-zero or timed out: no instance was started or stopped, the previous revision serves. */
  RELEASE_FAILED: EXIT.releaseFailed,
  /** hooks.preDeploy exited non-zero, timed out or could not start: the deploy stopped before anything changed. */
  HOOK_FAILED: EXIT.hookFailed,
  /** A cordon or drain leaves an app's instances nowhere to go within its hosts and bounds: that app was not touched. */
  NO_ROOM: EXIT.noRoom,
  LOCK_HELD: EXIT.lockHeld,
  ETCD_UNREACHABLE: EXIT.etcdUnreachable,
  /** ETCD_HOST answers, but it is another server (an HTTP port): etcd is not reachable there. */
  ETCD_NOT_ETCD: EXIT.etcdUnreachable,
  DOCKER_UNREACHABLE: EXIT.dockerUnreachable,
  GATEWAY_UNREACHABLE: EXIT.failed,
  /** Fewer live gateways for the prefix than the file's gateways.required: nothing was changed. */
  GATEWAYS_MISSING: EXIT.gatewaysMissing,
  /** The deploy lock's lease was lost mid-rollout (frozen, partitioned): stopped before touching Docker again. */
  LOCK_LOST: EXIT.lockLost,
  /** TLS to etcd failed: unknown authority, client certificate refused, TLS on one side only. */
  ETCD_TLS_FAILED: EXIT.etcdTls,
  /** etcd rejected the user or password, or needs one and got none. */
  ETCD_AUTH_FAILED: EXIT.etcdAuth,
  /** etcd's role for the user does not cover a key forrest reads or writes. */
  ETCD_PERMISSION_DENIED: EXIT.etcdPermission,
  /** A fixed host port was taken by something else between choosing it and binding it (retried with another). */
  PORT_TAKEN: EXIT.conflict,
  /** The registry refused the credentials, or wants some and got none. */
  REGISTRY_AUTH_FAILED: EXIT.registryAuth,
  /** The engine could not connect to the registry (refused, no route, DNS, timeout). */
  REGISTRY_UNREACHABLE: EXIT.registryUnreachable,
  /** The engine does not trust the registry's certificate (or TLS failed otherwise). */
  REGISTRY_TLS: EXIT.registryTls,
  /** Not on the engine, or the registry has no such repository or tag. */
  IMAGE_NOT_FOUND: EXIT.notFound,
  CONTAINER_NOT_FOUND: EXIT.notFound,
  APP_NOT_FOUND: EXIT.notFound,
  REVISION_NOT_FOUND: EXIT.notFound,
  NOT_FORREST_CONTAINER: EXIT.conflict,
  NAME_TAKEN: EXIT.conflict,
  /** An instance key points elsewhere than its record and container say: left alone. */
  KEY_CONFLICT: EXIT.conflict,
  NOT_CONVERGED: EXIT.notConverged,
  /** scale/rollback: another deploy changed the current revision while we waited for the lock. */
  REVISION_CHANGED: EXIT.conflict,
  INTERRUPTED: EXIT.interrupted,
  INTERNAL: EXIT.internal,
}

export class ForrestError extends Error {
  readonly code: ErrorCode
  readonly exit: number
  readonly suggestion?: string
  /** Extra machine-readable detail for --json output (e.g. the rollout result). */
  readonly detail?: unknown

  constructor(code: ErrorCode, message: string, opts: { suggestion?: string; cause?: unknown; detail?: unknown } = {}) {
    super(message, { cause: opts.cause })
    this.name = 'ForrestError'
    this.code = code
    this.exit = EXIT_BY_CODE[code]
    this.suggestion = opts.suggestion
    this.detail = opts.detail
  }
}

export const exitCodeFor = (code: ErrorCode): number => EXIT_BY_CODE[code]

/**
 * Codes that end a command with a non-zero exit by design, not by failure (a canary held for
 * `forrest promote` / `forrest abort`): CI branches on the exit code, and with --json the result is
 * printed as on success ("ok": true, its "outcome", "exit", "message" and the "next" commands).
 */
const DESIGNED_OUTCOMES: ReadonlySet<ErrorCode> = new Set(['WAITING_FOR_PROMOTION'])
export const isDesignedOutcome = (err: ForrestError): boolean => DESIGNED_OUTCOMES.has(err.code)

/** Any thrown value as a ForrestError: typed errors pass through, the rest are INTERNAL. */
export function toForrestError(err: unknown): ForrestError {
  if (err instanceof ForrestError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new ForrestError('INTERNAL', message, {
    cause: err,
    suggestion: 'This is a bug or an unexpected condition; run again with --debug for a stack trace.',
  })
}

/** One line for humans: "error CODE: message" plus the suggestion on the next line. */
export function formatError(err: ForrestError): string {
  const lines = [isDesignedOutcome(err) ? `${err.message} (${err.code}, exit ${err.exit})` : `Error (${err.code}): ${err.message}`]
  if (err.suggestion) lines.push(`  Hint: ${err.suggestion}`)
  return lines.join('\n')
}
