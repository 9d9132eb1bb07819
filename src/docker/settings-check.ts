import type Docker from 'dockerode'
import { ForrestError } from '../errors.js'
import type { ContainerSettings } from '../spec/types.js'
import { bindSources, networkNames } from './create-options.js'
import { dockerMessage, type DockerError } from './docker-errors.js'


/**
 * What would stop the settings' containers on this engine, asked without changing anything a
 * user sees: each network is inspected; the bind mounts are checked by creating (never starting)
 * one throwaway container with them, which the engine refuses when a host path is missing, and
 * removing it again.
 */
export async function checkSettingsOn(docker: Docker, call: <T>(what: string, fn: () => Promise<T>) => Promise<T>, image: string, settings: ContainerSettings): Promise<string[]> {
  const problems: string[] = []
  for (const name of networkNames(settings)) {
    const found = await call('network inspect', async () => {
      try {
        return await docker.getNetwork(name).inspect()
      } catch (err) {
        if ((err as DockerError).statusCode === 404) return undefined
        throw err
      }
    })
    if (!found) problems.push(`network ${name} does not exist`)
  }
  const binds = bindSources(settings)
  if (!binds.length) return problems
  for (const source of binds) {
    const c = await call('container create (bind check)', async () => {
      try {
        return await docker.createContainer({ Image: image, Labels: { 'forrest.check': 'bind' }, HostConfig: { Mounts: [{ Type: 'bind', Source: source, Target: '/forrest-bind-check', ReadOnly: true }] } })
      } catch (err) {
        if ((err as DockerError).statusCode === 400 || /bind source path does not exist|not exist/i.test(dockerMessage(err))) return dockerMessage(err)
        throw err
      }
    })
    if (typeof c === 'string') problems.push(`bind mount source ${source} does not exist (${c})`)
    else await call('container remove', () => c.remove({ force: true, v: true })).catch(() => undefined)
  }
  return problems
}

/** A logging driver the engine cannot read back (syslog, fluentd, gelf... without dual logging): said plainly. */
export function unreadableLogs(err: unknown, id: string, hostName: string | undefined): ForrestError | undefined {
  const text = dockerMessage(err)
  if (!/does not support reading|configured logging driver does not support/i.test(text)) return undefined
  return new ForrestError('LOGS_UNREADABLE', `the logs of ${id.slice(0, 12)}${hostName ? ` on ${hostName}` : ''} cannot be read: its logging driver does not support reading (${text})`, {
    cause: err,
    suggestion: 'Read them where the driver sends them, or set container.logging.driver to json-file, local or journald (or turn on Docker\'s dual logging) and deploy again.',
  })
}
