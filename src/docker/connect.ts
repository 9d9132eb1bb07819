import Docker from 'dockerode'

/**
 * What docker-modem reads from the environment when a Docker client is made. It merges these
 * OVER the options it is given where they are set: with DOCKER_HOST in the environment,
 * `new Docker({ socketPath })` talks to DOCKER_HOST, and an env port leaks into an ssh
 * connection (found in the lab; see scripts/lab/). So explicit options are applied with them unset.
 */
/** dockerode's connection options, as the rest of src/ names them (dockerode is imported only in src/docker/). */
export type DockerOptions = Docker.DockerOptions

const MODEM_ENV = ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_PATH_PREFIX', 'DOCKER_CLIENT_TIMEOUT'] as const

/** A Docker client that talks exactly to `options` (socketPath; https host/port/ca/cert/key; ssh). */
export function dockerWithOptions(options: Docker.DockerOptions): Docker {
  const saved = MODEM_ENV.map((k) => [k, process.env[k]] as const)
  for (const [k] of saved) delete process.env[k]
  try {
    // The environment is read only in the constructor (synchronously): restoring it after is safe.
    return new Docker(options)
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v
  }
}
