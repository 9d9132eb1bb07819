import type { EtcdClient } from './registry/client.js'
import type { ForrestConfig } from './config.js'
import type { ContainerRuntime } from './docker/runtime.js'
import type { HostSpec } from './spec/types.js'
import { InstanceRegistry } from './registry/instances.js'
import { plainWriter, type KvWriter } from './registry/kv-writer.js'

/** Who forrest is here: what its container labels must match before it touches a container. */
export interface Identity {
  /** `<etcd cluster id>/<records root>`: two environments sharing a Docker host never match. */
  owner: string
}

/** One Docker and one etcd connection per command run, shared by every step. */
export interface Context {
  config: ForrestConfig
  runtime: ContainerRuntime
  etcd: EtcdClient
  /** Unfenced writes (launch, stop of a launched container); rollouts use their lock's writer. */
  writer: KvWriter
  registry: InstanceRegistry
  /** The Docker engine of a host in a deployment file's `hosts:` list (one client per endpoint). */
  hostRuntime(host: HostSpec): ContainerRuntime
  /** Asks etcd once (also checking it answers, as whom), then remembers. */
  identity(): Promise<Identity>
  close(): void
}

/**
 * dockerode and etcd3 (gRPC) are imported on first use: they take most of a cold start, and
 * `forrest --version` or `--help` should not pay for them.
 */
export async function openContext(config: ForrestConfig): Promise<Context> {
  const [{ DockerRuntime }, { createEtcdClient }] = await Promise.all([import('./docker/docker-runtime.js'), import('./registry/client.js')])
  const etcd = createEtcdClient({ hosts: config.etcdHosts, security: config.etcdSecurity })
  const writer = plainWriter(etcd, config.etcdHosts)
  const runtime = new DockerRuntime()
  const registry = new InstanceRegistry(etcd, config.etcdHosts, writer, `/${config.recordsRoot}/ping`)
  let identity: Promise<Identity> | undefined
  const runtimes = new Map<string, ContainerRuntime>()
  const { dockerOptions, parseEndpoint } = await import('./hosts/endpoint.js')
  return {
    config,
    runtime,
    etcd,
    writer,
    registry,
    hostRuntime: (h) => {
      const key = `${h.docker} ${JSON.stringify(h.tls ?? {})} ${JSON.stringify(h.ssh ?? {})}`
      let r = runtimes.get(key)
      if (!r) runtimes.set(key, (r = DockerRuntime.withOptions(dockerOptions(h.name, parseEndpoint(h.docker), h, process.env), h.name)))
      return r
    },
    identity: () =>
      // A TLS problem behind "did not answer" is named where every error is (base-command.ts).
      (identity ??= registry.check().then((cluster) => ({ owner: `${cluster}/${config.recordsRoot}` }))),
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
