import type { Etcd3 } from 'etcd3'
import type { ForrestConfig } from './config.js'
import type { ContainerRuntime } from './docker/runtime.js'
import { InstanceRegistry } from './registry/instances.js'

/** One Docker and one etcd connection per command run, shared by every step. */
export interface Context {
  config: ForrestConfig
  runtime: ContainerRuntime
  etcd: Etcd3
  registry: InstanceRegistry
  close(): void
}

/**
 * dockerode and etcd3 (gRPC) are imported on first use: they take most of a cold start, and
 * `forrest --version` or `--help` should not pay for them.
 */
export async function openContext(config: ForrestConfig): Promise<Context> {
  const [{ DockerRuntime }, { createEtcdClient }] = await Promise.all([import('./docker/docker-runtime.js'), import('./registry/client.js')])
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
  const ctx = await openContext(config)
  try {
    return await fn(ctx)
  } finally {
    ctx.close()
  }
}
