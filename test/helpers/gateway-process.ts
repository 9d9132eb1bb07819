/**
 * Runs one gateway in its own process (npx vite-node test/helpers/gateway-process.ts), so a test
 * can SIGKILL it and watch its lease expire. Config from env: ETCD, SOCKET, PREFIX, GW_ID, TTL.
 */
import { startGateway } from '../../src/gateway/gateway.js'
import { createEtcdClient } from '../../src/registry/client.js'

const env = (k: string): string => {
  const v = process.env[k]
  if (!v) throw new Error(`${k} not set`)
  return v
}
const client = createEtcdClient([env('ETCD')])
await startGateway({
  client,
  socketPath: env('SOCKET'),
  prefix: env('PREFIX'),
  id: env('GW_ID'),
  ackTtlSec: Number(process.env.TTL ?? 5),
  onEvent: (e) => {
    if (e.type === 'applied') process.stdout.write(`applied ${e.revision}\n`)
  },
})
