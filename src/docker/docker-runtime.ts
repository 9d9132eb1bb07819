import createDebug from 'debug'
import Docker from 'dockerode'
import { ForrestError } from '../errors.js'
import { retryTransient } from '../retry.js'
import { createOptions } from './create-options.js'
import { dockerMessage, isTransient, isUnreachable, type DockerError, type EngineCall } from './docker-errors.js'
import { checkSettingsOn } from './settings-check.js'
import type { ContainerSettings } from '../spec/types.js'
import { logLinesOf, logsOf } from './container-logs.js'
import { pullOn, resolveDigestOn } from './image-ops.js'
import type { ContainerInfo, ContainerRuntime, ImageInfo, LogLine, LogOptions, PullProgress, RegistryAuth, RunOptions, TaskOptions, TaskResult, AttachedTaskOptions, ExecResult } from './runtime.js'
import { runAttached, runTask } from './task.js'
import { execIn } from './exec.js'

const debug = createDebug('forrest:docker')

// docker-modem's own debug namespace prints every request's headers, X-Registry-Auth (the
// registry password, base64) among them: never on, whatever DEBUG says.
if (createDebug.enabled('modem')) createDebug.enable(`${createDebug.disable()},-modem`)

/** Long enough for a container start on a loaded host, short enough that a wedged engine is an error. */
const CALL_TIMEOUT_MS = 60_000



export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker

  /** `docker` defaults to the local engine: dockerode reads DOCKER_HOST / DOCKER_CERT_PATH as the docker CLI does. */
  constructor(
    docker = new Docker(),
    private readonly hostName?: string,
  ) {
    this.docker = docker
  }

  /** A runtime for an engine given as explicit dockerode options (a host of the inventory). */
  static withOptions(options: Docker.DockerOptions, hostName?: string): DockerRuntime {
    return new DockerRuntime(new Docker(options), hostName)
  }

  /**
   * Maps connection failures to DOCKER_UNREACHABLE and retries transient faults. Every call has a
   * deadline: an engine that accepts the connection but never answers (a wedged dockerd) is
   * reported, not waited on forever.
   */
  /** call, bound, for the engine helpers (task, exec, images, logs). */
  private readonly bound: EngineCall = (what, fn, timeoutMs) => this.call(what, fn, timeoutMs)

  private async call<T>(what: string, fn: () => Promise<T>, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs / 1000}s`), { code: 'ETIMEDOUT' })), timeoutMs) // the call's deadline
    })
    try {
      return await Promise.race([retryTransient(fn, isTransient), deadline])
    } catch (err) {
      if (err instanceof ForrestError) throw err
      if (isUnreachable(err)) {
        throw new ForrestError('DOCKER_UNREACHABLE', `Docker engine${this.hostName ? ` of host ${this.hostName}` : ''} did not answer (${(err as DockerError).code ?? (err as Error).message}) during ${what}`, {
          cause: err,
          suggestion: 'Start the Docker engine (sudo systemctl start docker, or dockerd), or set DOCKER_HOST to a reachable engine.',
        })
      }
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.docker.ping())
  }

  async memoryBytes(): Promise<number> {
    const info = await this.call('info', () => this.docker.info() as Promise<{ MemTotal?: number }>, 15_000)
    return info.MemTotal ?? 0
  }

  async engineId(): Promise<string> {
    const info = await this.call('info', () => this.docker.info() as Promise<{ ID?: string; Name?: string }>, 15_000)
    return info.ID || info.Name || 'unknown'
  }

  async inspectImage(ref: string): Promise<ImageInfo> {
    const info = await this.findImage(ref)
    if (!info) throw imageNotFound(ref, undefined)
    return info
  }

  async findImage(ref: string): Promise<ImageInfo | undefined> {
    const info = await this.call('image inspect', async () => {
      try {
        return await this.docker.getImage(ref).inspect()
      } catch (err) {
        if ((err as DockerError).statusCode === 404) return undefined
        throw err
      }
    })
    if (!info) return undefined
    const exposed = Object.keys(info.Config?.ExposedPorts ?? {})
      .filter((p) => p.endsWith('/tcp'))
      .map((p) => Number.parseInt(p, 10))
    return {
      id: info.Id,
      exposedPorts: exposed,
      hasHealthcheck: Boolean(info.Config?.Healthcheck?.Test?.length && info.Config.Healthcheck.Test[0] !== 'NONE'),
      repoDigests: info.RepoDigests ?? [],
    }
  }


  resolveDigest(ref: string, auth?: RegistryAuth): Promise<string> {
    return resolveDigestOn(this.docker, this.bound, ref, auth)
  }

  pull(ref: string, auth: RegistryAuth | undefined, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    return pullOn(this.docker, this.bound, ref, auth, onProgress, signal)
  }

  async run(opts: RunOptions): Promise<ContainerInfo> {
    return this.start(await this.create(opts), opts)
  }

  async create(opts: RunOptions): Promise<string> {
    debug('create %s from %s', opts.name, opts.image)
    const { create, connect } = createOptions(opts)
    const container = await this.call('container create', async () => {
      try {
        return await this.docker.createContainer(create)
      } catch (err) {
        const e = err as DockerError
        // Docker answers a create with a missing image as a 404 ("no such image").
        if (e.statusCode === 404) throw imageNotFound(opts.image, err)
        if (e.statusCode === 409) {
          throw new ForrestError('NAME_TAKEN', `a container named "${opts.name ?? ''}" already exists`, {
            cause: err,
            suggestion: 'Choose another --name, or remove the old container (forrest stop NAME if forrest started it).',
          })
        }
        throw err
      }
    })
    try {
      for (const join of connect) {
        await this.call('network connect', () => this.docker.getNetwork(join.network).connect({ Container: container.id, EndpointConfig: { Aliases: join.aliases } }))
      }
      return container.id
    } catch (err) {
      // Nothing half done: a container that could not be wired up is removed again.
      await this.remove(container.id).catch(() => undefined)
      throw this.startError(err, opts, container.id)
    }
  }

  async start(id: string, opts: Pick<RunOptions, 'name' | 'bindIp' | 'hostPort'>): Promise<ContainerInfo> {
    try {
      await this.call('container start', () => this.docker.getContainer(id).start())
      const info = await this.inspect(id)
      if (!info) throw new Error(`container ${id} vanished right after start`)
      return info
    } catch (err) {
      // Nothing half done: a container that did not start is removed again.
      await this.remove(id).catch(() => undefined)
      throw this.startError(err, opts, id)
    }
  }

  private startError(err: unknown, opts: Pick<RunOptions, 'name' | 'bindIp' | 'hostPort'>, id: string): ForrestError {
    if (err instanceof ForrestError) return err
    if (/cannot assign requested address/i.test(dockerMessage(err))) {
      return new ForrestError('ADDRESS_NOT_ON_HOST', `${this.hostName ?? 'this host'} has no address ${opts.bindIp}: Docker cannot publish ${opts.name ?? 'the container'}'s port on it`, { cause: err })
    }
    if (opts.hostPort && /port is already allocated|address already in use/i.test(dockerMessage(err))) {
      return new ForrestError('PORT_TAKEN', `host port ${opts.hostPort} is taken on ${this.hostName ?? 'this host'}`, { cause: err })
    }
    return new ForrestError('ROLLOUT_FAILED', `container ${opts.name ?? id.slice(0, 12)} did not start: ${dockerMessage(err)}`, { cause: err })
  }

  runTask(opts: TaskOptions): Promise<TaskResult> {
    return runTask(this.docker, this.bound, opts)
  }

  runAttached(opts: AttachedTaskOptions): Promise<TaskResult> {
    return runAttached(this.docker, this.bound, opts)
  }

  logs(id: string, tail: number): Promise<string> {
    return logsOf(this.docker, id, tail)
  }

  logLines(id: string, opts: LogOptions): AsyncIterable<LogLine> {
    return logLinesOf(this.docker, this.bound, this.hostName, id, opts)
  }

  async inspect(nameOrId: string): Promise<ContainerInfo | undefined> {
    return this.call('container inspect', async () => {
      try {
        const c = await this.docker.getContainer(nameOrId).inspect()
        const bindings = Object.values(c.NetworkSettings?.Ports ?? {}).flat().filter(Boolean) as Array<{ HostPort: string }>
        return {
          id: c.Id,
          name: c.Name.replace(/^\//, ''),
          image: c.Config.Image,
          imageId: c.Image,
          labels: c.Config.Labels ?? {},
          running: c.State.Running,
          state: c.State.Status,
          hostPort: bindings[0] ? Number(bindings[0].HostPort) : undefined,
          createdAt: new Date(c.Created),
          startedAt: c.State.StartedAt && !c.State.StartedAt.startsWith('0001') ? new Date(c.State.StartedAt) : undefined,
          health: c.State.Health?.Status,
          restartCount: c.RestartCount,
          oomKilled: c.State.OOMKilled,
          // Only while it is down: Docker resets ExitCode to 0 when it runs the container again.
          ...(['exited', 'restarting', 'dead'].includes(c.State.Status) ? { exitCode: c.State.ExitCode } : {}),
        }
      } catch (err) {
        if ((err as DockerError).statusCode === 404) return undefined
        throw err
      }
    })
  }

  async checkSettings(image: string, settings: ContainerSettings): Promise<string[]> {
    return checkSettingsOn(this.docker, (what, fn) => this.call(what, fn), image, settings)
  }

  async list(labels: Record<string, string>): Promise<ContainerInfo[]> {
    const filters = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }
    const rows = await this.call('container list', () => this.docker.listContainers({ all: true, filters }))
    return rows.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      image: c.Image,
      imageId: c.ImageID,
      labels: c.Labels ?? {},
      running: c.State === 'running',
      state: c.State,
      hostPort: c.Ports.find((p) => p.PublicPort)?.PublicPort,
      createdAt: new Date(c.Created * 1000),
      health: /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1]?.replace('health: ', ''),
    }))
  }

  /**
   * Host ports taken: those running containers publish, and those every other container (exited,
   * restarting, created, paused) is configured to bind. A crashed container waiting to restart
   * publishes nothing at that moment, but gets its port back when it starts: handing that port
   * to another app would leave it unable to start ("port is already allocated").
   */
  async publishedPorts(): Promise<Set<number>> {
    const rows = await this.call('container list', () => this.docker.listContainers({ all: true }))
    const ports = new Set(rows.flatMap((c) => c.Ports.map((p) => p.PublicPort).filter((p): p is number => Boolean(p))))
    const idle = rows.filter((c) => c.State !== 'running')
    const bindings = await Promise.all(
      idle.map((c) =>
        this.call('container inspect', () => this.docker.getContainer(c.Id).inspect()).then(
          (info) => Object.values((info.HostConfig?.PortBindings ?? {}) as Record<string, Array<{ HostPort?: string }> | null>).flatMap((list) => (list ?? []).map((b) => Number(b.HostPort))),
          () => [] as number[], // removed meanwhile
        ),
      ),
    )
    for (const p of bindings.flat()) if (p > 0) ports.add(p)
    return ports
  }

  async stop(id: string, graceSeconds: number): Promise<void> {
    await this.call('container stop', async () => {
      try {
        await this.docker.getContainer(id).stop({ t: Math.max(0, Math.round(graceSeconds)) })
      } catch (err) {
        const code = (err as DockerError).statusCode
        if (code === 304 || code === 404) return // already stopped / already gone
        throw err
      }
    })
  }

  async remove(id: string): Promise<void> {
    await this.call('container remove', async () => {
      try {
        await this.docker.getContainer(id).remove({ force: true, v: true })
      } catch (err) {
        const code = (err as DockerError).statusCode
        if (code === 404) return
        if (code === 409 && /already in progress/.test(dockerMessage(err))) return
        throw err
      }
    })
  }

  exec(id: string, command: string[], timeoutMs: number): Promise<ExecResult> {
    return execIn(this.docker, this.bound, id, command, timeoutMs)
  }

}


function imageNotFound(ref: string, cause: unknown): ForrestError {
  return new ForrestError('IMAGE_NOT_FOUND', `image "${ref}" is not on this Docker host`, {
    cause,
    suggestion: 'Push it to a registry and name that registry in the reference, or load it on this host (docker load; scripts/dev-stack.sh builds the demo images).',
  })
}
