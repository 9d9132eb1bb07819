import type { Context } from '../context.js'
import { ForrestError } from '../errors.js'
import { forrestLabels } from '../labels.js'
import { instanceKey } from '../plan/keys.js'
import { addressOf, announceOrUndo, choosePort } from './instance-ops.js'

export interface LaunchRequest {
  image: string
  name?: string
  port?: number
  env: Record<string, string>
  labels: Record<string, string>
}

export interface LaunchResult {
  name: string
  container: string
  image: string
  address: string
  hostPort: number
  key: string
  etcd: string[]
}

/** `forrest launch`: run one container and announce it; undo the container if the announce fails. */
export async function launch(ctx: Context, req: LaunchRequest, log: (line: string) => void): Promise<LaunchResult> {
  const { config, runtime } = ctx
  for (const k of Object.keys(req.labels)) {
    if (k.startsWith('forrest.')) throw new ForrestError('BAD_INPUT', `label "${k}" is reserved`, { suggestion: 'Labels starting with forrest. are set by forrest itself.' })
  }
  log(`Launching ${req.image} on ${config.ip}${config.ipSource === 'detected' ? ' (detected; set FORREST_IP to change)' : ''} ...`)
  // Check etcd (and Docker) before starting anything, so an unreachable one leaves nothing behind.
  const { owner } = await ctx.identity()
  const image = await runtime.inspectImage(req.image)
  const containerPort = choosePort(req.image, req.port, image.exposedPorts)
  const app = req.image.replace(/:[^/:]+$/, '')
  const c = await runtime.run({
    name: req.name,
    image: req.image,
    containerPort,
    bindIp: config.bindIp,
    env: req.env,
    labels: { ...config.extraLabels, ...req.labels, ...forrestLabels({ owner, app, kind: 'launch', prefix: config.prefix }) },
  })
  const key = instanceKey(config.prefix, c.name)
  const address = addressOf(config.ip, c)
  log(`Announcing to ${config.etcdHosts.join(',')} ...`)
  await announceOrUndo(ctx, c, key, address)
  log(`${app} running on Port ${c.hostPort} with name ${c.name}`)
  return { name: c.name, container: c.id, image: req.image, address, hostPort: c.hostPort!, key: key, etcd: config.etcdHosts }
}
