import type { Etcd3 } from 'etcd3'
import { normalizePrefix } from '../config.js'
import { withEtcd } from './etcd-errors.js'
import { gatewayAckPrefix, gatewayCheckPrefix } from './gateway-acks.js'
import { instanceKeyPrefix } from './prefix-watch.js'
import { gatewayWeightPrefix } from './weights.js'
import { probeWritePermission } from './write-probe.js'

/**
 * What `forrest gateway --check` asks etcd: can this user read what the gateway reads and write
 * its acknowledgement key. The write is checked by write-probe.ts (a transaction that never
 * holds: etcd checks the permission and writes nothing, so no deploy ever sees a probe as a
 * gateway). Returns one line per check; throws the typed refusal (ETCD_PERMISSION_DENIED,
 * ETCD_AUTH_FAILED) or ETCD_UNREACHABLE.
 */
export async function checkGatewayPermissions(client: Etcd3, x: { hosts: string[]; prefix: string; root?: string; id: string }): Promise<string[]> {
  const instances = instanceKeyPrefix(x.prefix)
  const checks = gatewayCheckPrefix(x.prefix, x.root)
  const weights = gatewayWeightPrefix(x.prefix, x.root)
  const apps = `/${normalizePrefix(x.root ?? 'forrest')}/apps/`
  const ackKey = gatewayAckPrefix(x.prefix, x.root) + x.id
  await withEtcd(x.hosts, () => client.getAll().prefix(instances).limit(1).keys(), 2, `read ${instances}`)
  await withEtcd(x.hosts, () => client.getAll().prefix(checks).limit(1).keys(), 2, `read ${checks}`)
  await withEtcd(x.hosts, () => client.getAll().prefix(weights).limit(1).keys(), 2, `read ${weights}`)
  await withEtcd(x.hosts, () => client.getAll().prefix(apps).limit(1).keys(), 2, `read ${apps}`)
  await probeWritePermission(client, x.hosts, [ackKey])
  return [`etcd: read ${instances}`, `etcd: read ${checks}, ${weights} and ${apps}`, `etcd: write ${ackKey} (checked, nothing written)`]
}
