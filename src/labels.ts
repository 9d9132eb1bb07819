/**
 * Docker labels forrest puts on every container it creates. Ownership is data on the container:
 * forrest adopts, retires or stops only containers whose labels match exactly who it is (etcd
 * cluster and records root), the app, and for rollouts the revision and its template hash.
 * Anything else is reported and never touched.
 */
export const LABEL = {
  managed: 'forrest.managed',
  /** `<etcd cluster id>/<records root>` (Context.identity().owner). */
  owner: 'forrest.owner',
  app: 'forrest.app',
  /** "rollout" (deploy, scale, rollback), "launch" (`forrest launch`), "release" (a release command) or "run" (`forrest run`): a deploy claims only its own rollouts. */
  kind: 'forrest.kind',
  revision: 'forrest.revision',
  /** specTemplateHash of the revision: a revision number reused after records were lost never matches. */
  template: 'forrest.template',
  /** etcd prefix the instance is announced under; its key is /<prefix>/<container name>. */
  prefix: 'forrest.prefix',
  address: 'forrest.address',
  /** The process of a rollout instance (processes: in the file); absent: web, the announced one. */
  process: 'forrest.process',
} as const

export function forrestLabels(opts: { owner: string; app: string; kind: 'rollout' | 'launch' | 'release' | 'run'; revision?: number; template?: string; prefix: string; address?: string; process?: string }): Record<string, string> {
  const labels: Record<string, string> = { [LABEL.managed]: 'true', [LABEL.owner]: opts.owner, [LABEL.app]: opts.app, [LABEL.kind]: opts.kind, [LABEL.prefix]: opts.prefix }
  if (opts.revision !== undefined) labels[LABEL.revision] = String(opts.revision)
  if (opts.template) labels[LABEL.template] = opts.template
  if (opts.address) labels[LABEL.address] = opts.address
  if (opts.process) labels[LABEL.process] = opts.process
  return labels
}

export const isForrestManaged = (labels: Record<string, string> | undefined): boolean => labels?.[LABEL.managed] === 'true'

/** A container of one of this environment's rollouts of `app` (any revision). */
export const isOwnRollout = (labels: Record<string, string>, owner: string, app: string): boolean =>
  isForrestManaged(labels) && labels[LABEL.owner] === owner && labels[LABEL.app] === app && labels[LABEL.kind] === 'rollout'
