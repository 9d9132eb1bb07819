import createDebug from 'debug'
import Docker from 'dockerode'
import { ForrestError } from '../errors.js'
import { retryTransient } from '../retry.js'
import { LogLineSplitter } from './log-lines.js'
import type { ContainerInfo, ContainerRuntime, ImageInfo, LogLine, LogOptions, RunOptions } from './runtime.js'

const debug = createDebug('forrest:docker')

type DockerError = Error & { statusCode?: number; code?: string; json?: { message?: string } }

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE'])

function isUnreachable(err: unknown): boolean {
  return UNREACHABLE_CODES.has((err as DockerError)?.code ?? '')
}

function isTransient(err: unknown): boolean {
  const e = err as DockerError
  return e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || (e?.statusCode ?? 0) >= 500
}

function dockerMessage(err: unknown): string {
  const e = err as DockerError
  return e?.json?.message ?? e?.message ?? String(err)
}

/** Docker's multiplexed log stream: 8-byte frame headers (stream, 0, 0, 0, size32) + payload. */
export function demuxLogs(buf: Buffer): string {
  let out = ''
  let i = 0
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4)
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8')
    i += 8 + size
  }
  return i === 0 ? buf.toString('utf8') : out
}

export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker

  constructor(docker = new Docker()) {
    // dockerode reads DOCKER_HOST / DOCKER_CERT_PATH the way the docker CLI does.
    this.docker = docker
  }

  /** Maps connection failures to DOCKER_UNREACHABLE and retries transient faults. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await retryTransient(fn, isTransient)
    } catch (err) {
      if (err instanceof ForrestError) throw err
      if (isUnreachable(err)) {
        throw new ForrestError('DOCKER_UNREACHABLE', `Docker engine did not answer (${(err as DockerError).code}) during ${what}`, {
          cause: err,
          suggestion: 'Start dockerd (scripts/dev-stack.sh does), or set DOCKER_HOST to a reachable engine.',
        })
      }
      throw err
    }
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.docker.ping())
  }

  async engineId(): Promise<string> {
    const info = await this.call('info', () => this.docker.info() as Promise<{ ID?: string; Name?: string }>)
    return info.ID || info.Name || 'unknown'
  }

  async inspectImage(ref: string): Promise<ImageInfo> {
    const info = await this.call('image inspect', async () => {
      try {
        return await this.docker.getImage(ref).inspect()
      } catch (err) {
        if ((err as DockerError).statusCode === 404) throw imageNotFound(ref, err)
        throw err
      }
    })
    const exposed = Object.keys(info.Config?.ExposedPorts ?? {})
      .filter((p) => p.endsWith('/tcp'))
      .map((p) => Number.parseInt(p, 10))
    return { id: info.Id, exposedPorts: exposed, hasHealthcheck: Boolean(info.Config?.Healthcheck?.Test?.length && info.Config.Healthcheck.Test[0] !== 'NONE') }
  }

  async run(opts: RunOptions): Promise<ContainerInfo> {
    const portKey = `${opts.containerPort}/tcp`
    debug('create %s from %s', opts.name, opts.image)
    const container = await this.call('container create', async () => {
      try {
        return await this.docker.createContainer({
          name: opts.name,
          Image: opts.image,
          Cmd: opts.command,
          Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
          Labels: opts.labels,
          ExposedPorts: { [portKey]: {} },
          HostConfig: {
            // An init process as PID 1 forwards SIGTERM: busybox httpd as PID 1 ignores it.
            Init: true,
            PortBindings: { [portKey]: [{ HostIp: opts.bindIp, HostPort: '' }] },
            RestartPolicy: { Name: 'no' },
          },
        })
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
      await this.call('container start', () => container.start())
      const info = await this.inspect(container.id)
      if (!info) throw new Error(`container ${container.id} vanished right after start`)
      return info
    } catch (err) {
      // Nothing half done: a container that did not start is removed again.
      await this.remove(container.id).catch(() => undefined)
      if (err instanceof ForrestError) throw err
      throw new ForrestError('ROLLOUT_FAILED', `container ${opts.name ?? container.id.slice(0, 12)} did not start: ${dockerMessage(err)}`, { cause: err })
    }
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
        }
      } catch (err) {
        if ((err as DockerError).statusCode === 404) return undefined
        throw err
      }
    })
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

  async logs(id: string, tail: number): Promise<string> {
    try {
      const buf = (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer
      return demuxLogs(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)))
    } catch {
      return ''
    }
  }

  async *logLines(id: string, opts: LogOptions): AsyncIterable<LogLine> {
    // Absent options are left out rather than sent empty (docker-modem would send `tail=`).
    const query = Object.fromEntries(
      Object.entries({ stdout: true, stderr: true, timestamps: true, tail: opts.tail, since: unixTime(opts.since), until: unixTime(opts.until) }).filter(([, v]) => v !== undefined),
    )
    const splitter = new LogLineSplitter()
    const container = this.docker.getContainer(id)
    const gone = (err: unknown) => (err as DockerError).statusCode === 404
    if (!opts.follow) {
      const buf = await this.call('container logs', () => container.logs({ ...query, follow: false })).catch((err) => {
        if (gone(err)) return Buffer.alloc(0)
        throw err
      })
      yield* splitter.push(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)))
      yield* splitter.end()
      return
    }
    const stream = await this.call('container logs', () => container.logs({ ...query, follow: true })).catch((err) => {
      if (gone(err)) return undefined
      throw err
    })
    if (!stream) return
    const destroy = () => (stream as NodeJS.ReadableStream & { destroy(): void }).destroy()
    // An abort (Ctrl-C) ends the stream early: that is the normal end of a follow.
    if (opts.signal?.aborted) destroy()
    opts.signal?.addEventListener('abort', destroy, { once: true })
    try {
      for await (const chunk of stream) yield* splitter.push(chunk as Buffer)
    } catch (err) {
      if (!opts.signal?.aborted) throw err
    } finally {
      opts.signal?.removeEventListener('abort', destroy)
      destroy()
    }
    yield* splitter.end()
  }
}

/** Docker's since/until: seconds since the epoch, with a fraction down to nanoseconds. */
const unixTime = (d: Date | undefined) => (d ? (d.getTime() / 1000).toFixed(3) : undefined)

function imageNotFound(ref: string, cause: unknown): ForrestError {
  return new ForrestError('IMAGE_NOT_FOUND', `image "${ref}" is not on this Docker host`, {
    cause,
    suggestion: 'forrest does not pull: docker pull or docker load the image first (scripts/dev-stack.sh builds the demo images).',
  })
}
