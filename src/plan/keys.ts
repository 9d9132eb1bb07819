/**
 * etcd keys: `/<prefix>/<instance name>`, the prefix written with or without slashes
 * ("app/servers", "/app/servers/") always normalised the same way, so confd templates see one form.
 */

/** "/app/servers/" for any spelling of the prefix; "/" for an empty one. */
export function keyPrefix(prefix: string): string {
  const trimmed = prefix.split('/').filter(Boolean).join('/')
  return trimmed ? `/${trimmed}/` : '/'
}

export function instanceKey(prefix: string, name: string): string {
  return `${keyPrefix(prefix)}${name}`
}

/** The instance name of a key directly under the prefix, or undefined for a key elsewhere. */
export function instanceNameFromKey(prefix: string, key: string): string | undefined {
  const base = keyPrefix(prefix)
  if (!key.startsWith(base)) return undefined
  const name = key.slice(base.length)
  return name && !name.includes('/') ? name : undefined
}

/** The deploy lock of an app, under forrest's records root. */
export const lockKey = (root: string, app: string) => `/${root}/locks/${app}`
