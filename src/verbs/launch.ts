import { bindIpFor } from '../config.js'
import type { Context } from '../context.js'
import type { Host } from '../hosts/fleet.js'
import type { ContainerInfo } from '../docker/runtime.js'
import { ForrestError } from '../errors.js'
import { forrestLabels } from '../labels.js'
import { instanceKey } from '../plan/keys.js'
import { recordsOf } from '../engine/app-records.js'
import { addressOf, choosePort } from '../engine/instance-ops.js'
import { portAllocator } from '../engine/step-deps.js'

export interface LaunchRequest {
  image: string
  name?: string
  port?: number
  env: Record<string, string>
  labels: Record<string, string>
  /** `--host`: run it on this host (announced at its address); default the local engine at FORREST_IP. */
  host?: Host
}

export interface LaunchResult {
  name: string
  container: string
  image: string
  address: string
  hostPort: number
  key: string
  etcd: string[]
  /** The host it runs on, when --host named one. */
  host?: string
}

/** The deployment file's default `hostPorts`: launch publishes on a fixed port from it, as rollouts do. */
const LAUNCH_HOST_PORTS = { from: 20000, to: 29999 }

/**
 * `forrest launch`: run one container and announce it; undo the container if the announce fails.
 * It holds no app's lock, so it never writes a key an app's records own, nor any key that is
 * already there (the write is create-only). Like a rollout instance, the container restarts
 * after a crash or an engine restart (unless-stopped), on a fixed host port so the announced
 * address stays right.
 */
export async function launch(ctx: Context, req: LaunchRequest, log: (line: string) => void): Promise<LaunchResult> {
  const { config } = ctx
  const runtime = req.host?.runtime ?? ctx.runtime
  const ip = req.host?.address ?? config.ip
  const bindIp = req.host ? bindIpFor(config, req.host.address) : config.bindIp
  for (const k of Object.keys(req.labels)) {
    if (k.startsWith('forrest.')) throw new ForrestError('BAD_INPUT', `label "${k}" is reserved`, { suggestion: 'Labels starting with forrest. are set by forrest itself.' })
  }
  log(`Launching ${req.image} on ${req.host ? `host ${req.host.name} (${ip})` : `${ip}${config.ipSource === 'detected' ? ' (detected; set FORREST_IP to change)' : ''}`} ...`)
  // Check etcd (and Docker) before starting anything, so an unreachable one leaves nothing behind.
  const { owner } = await ctx.identity()
  if (req.name) await refuseTakenKey(ctx, instanceKey(config.prefix, req.name), req.name)
  const image = await runtime.inspectImage(req.image).catch((err: unknown) => {
    // launch never pulls: "push it to a registry" would not help; say where it looked.
    if (!(err instanceof ForrestError && err.code === 'IMAGE_NOT_FOUND')) throw err
    const where = req.host ? `host ${req.host.name}` : 'the local Docker engine'
    throw new ForrestError('IMAGE_NOT_FOUND', `image "${req.image}" is not on ${where}, and forrest launch does not pull; nothing was started or changed`, {
      cause: err,
      suggestion: `Pull or load it on ${where} first (docker pull ${req.image}, or docker load), then launch again; or deploy it from a deployment file, which pulls it onto every host.`,
    })
  })
  const containerPort = choosePort(req.image, req.port, image.exposedPorts)
  const app = req.image.replace(/:[^/:]+$/, '')
  const ports = portAllocator(LAUNCH_HOST_PORTS)
  const host = { name: req.host?.name ?? 'this Docker host', runtime, engine: '', address: ip, bindIp, probeHost: ip }
  let c: ContainerInfo | undefined
  for (let attempt = 1; !c; attempt++) {
    const hostPort = await ports.allocate(host)
    try {
      c = await runtime.run({
        name: req.name,
        image: req.image,
        containerPort,
        bindIp,
        hostPort,
        env: req.env,
        labels: { ...config.extraLabels, ...req.labels, ...forrestLabels({ owner, app, kind: 'launch', prefix: config.prefix }) },
        // The same policy as rollout instances: crashes and engine restarts bring it back.
        restart: 'unless-stopped',
      })
    } catch (err) {
      if (!(err instanceof ForrestError && err.code === 'PORT_TAKEN') || attempt >= 20) throw err
      ports.taken(host, hostPort)
    }
  }
  const key = instanceKey(config.prefix, c.name)
  const address = addressOf(ip, c)
  log(`Announcing to ${config.etcdHosts.join(',')} ...`)
  let revision: number | undefined
  try {
    revision = await ctx.registry.announceIfAbsent(key, address)
  } catch (err) {
    await runtime.remove(c.id).catch(() => undefined)
    throw err
  }
  if (revision === undefined) {
    await runtime.remove(c.id).catch(() => undefined)
    throw keyTaken(key, c.name, 'another process announced it meanwhile')
  }
  log(`${app} running on Port ${c.hostPort} with name ${c.name}`)
  return { name: c.name, container: c.id, image: req.image, address, hostPort: c.hostPort!, key: key, etcd: config.etcdHosts, ...(req.host ? { host: req.host.name } : {}) }
}

/** A key an app's records own, or any key already there, is not launch's to write. */
async function refuseTakenKey(ctx: Context, key: string, name: string): Promise<void> {
  const records = recordsOf(ctx)
  for (const app of await records.apps()) {
    const rec = (await records.instances(app)).get(name)
    if (rec && instanceKey(rec.prefix ?? ctx.config.prefix, rec.name) === key) {
      throw new ForrestError('NAME_TAKEN', `${key} is the key of app ${app}'s instance ${name} (on host ${rec.host}, at ${rec.address}); forrest launch never writes a key an app owns. Nothing was started or changed`, {
        suggestion: `Pick another --name; to change app ${app}, use forrest deploy, scale or stop on its own terms.`,
      })
    }
  }
  const current = await ctx.registry.get(key)
  if (current !== null) throw keyTaken(key, name, `it is announced already (= ${current})`)
}

const keyTaken = (key: string, name: string, why: string) =>
  new ForrestError('NAME_TAKEN', `${key} cannot be written by forrest launch: ${why}. Nothing was started or changed`, {
    suggestion: `Pick another --name than ${name}, or stop what holds the key first (forrest stop ${name}).`,
  })
