/** Docker labels forrest puts on every container it creates; without them it touches nothing. */
export const LABEL = {
  managed: 'forrest.managed',
  app: 'forrest.app',
  revision: 'forrest.revision',
  /** etcd prefix the instance is announced under; its key is /<prefix>/<container name>. */
  prefix: 'forrest.prefix',
  address: 'forrest.address',
} as const

export function forrestLabels(opts: { app: string; revision?: number; prefix: string; address?: string }): Record<string, string> {
  const labels: Record<string, string> = { [LABEL.managed]: 'true', [LABEL.app]: opts.app, [LABEL.prefix]: opts.prefix }
  if (opts.revision !== undefined) labels[LABEL.revision] = String(opts.revision)
  if (opts.address) labels[LABEL.address] = opts.address
  return labels
}

export const isForrestManaged = (labels: Record<string, string> | undefined): boolean => labels?.[LABEL.managed] === 'true'
