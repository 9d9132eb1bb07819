import { removeByLabel } from './cli.js'
import { startEtcd, type TestEtcd } from './etcd.js'
import { startGatewayCli, type GatewayCli } from './gateway-cli.js'
import { startHaproxy, type TestHaproxy } from './haproxy.js'

/** What the load balancer tests share: a private etcd, HAProxy, and `forrest gateway` keeping it in step. */
export interface LbStack {
  etcd: TestEtcd
  haproxy: TestHaproxy
  gateway: GatewayCli
  /** Environment for the forrest CLI against this etcd. */
  env: NodeJS.ProcessEnv
  /** Stops the gateway (revoking its lease), removes the run's containers, stops HAProxy and etcd. */
  stop(): Promise<void>
}

export async function startLbStack(run: { id: string; label: string; env(etcd: string): NodeJS.ProcessEnv }, opts: { serversFile?: boolean; gatewayArgs?: string[] } = {}): Promise<LbStack> {
  const [etcd, haproxy] = await Promise.all([startEtcd(), startHaproxy()])
  const env = run.env(etcd.endpoint)
  const gateway = await startGatewayCli({ socket: haproxy.socket, env, id: `gw-${run.id}`, ...(opts.serversFile ? { serversFile: haproxy.configPath } : {}), ...(opts.gatewayArgs ? { args: opts.gatewayArgs } : {}) })
  return {
    etcd,
    haproxy,
    gateway,
    env,
    stop: async () => {
      await gateway.stop()
      await removeByLabel(run.label)
      await Promise.all([haproxy.stop(), etcd.stop()])
    },
  }
}
