import type { Etcd3 } from 'etcd3'
import type { ForrestConfig } from './config.js'
import { DockerRuntime } from './docker/docker-runtime.js'
import type { ContainerRuntime } from './docker/runtime.js'
import { createEtcdClient } from './registry/client.js'
import { InstanceRegistry } from './registry/instances.js'

/** One Docker and one etcd connection per command run, shared by every step. */
export interface Context {
  config: ForrestConfig
  runtime: ContainerRuntime
  etcd: Etcd3
  registry: InstanceRegistry
  close(): void
}

export function openContext(config: ForrestConfig): Context {
  const etcd = createEtcdClient(config.etcdHosts)
  return {
    config,
    runtime: new DockerRuntime(),
    etcd,
    registry: new InstanceRegistry(etcd, config.etcdHosts),
    close: () => etcd.close(),
  }
}

/** Runs fn with a context and always closes it, so no gRPC handle keeps the process alive. */
export async function withContext<T>(config: ForrestConfig, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = openContext(config)
  try {
    return await fn(ctx)
  } finally {
    ctx.close()
  }
}
