/** etcd key of an instance in the confd-friendly layout: /<prefix>/<instance-name>. */
export function instanceKey(prefix: string, name: string): string {
  return `/${prefix.replace(/^\/+|\/+$/g, '')}/${name}`
}
