import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { DockerOptions } from '../docker/connect.js'
import { ForrestError } from '../errors.js'
import { knownHostsAccepts } from './known-hosts.js'

/** How to reach one Docker engine, as written in a host's `docker:` field. */
export type Endpoint =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'ssh'; user: string; host: string; port: number }

export interface EndpointSecurity {
  /** tcp://: directory with ca.pem, cert.pem, key.pem (DOCKER_CERT_PATH's layout); verify: false for plain TCP. */
  tls?: { certPath?: string; verify?: boolean }
  /** ssh://: private key and known_hosts files. */
  ssh?: { identityFile?: string; knownHosts?: string }
}

/** Parses `unix:///path`, `tcp://host:port`, `ssh://user@host[:port]`. Pure. */
export function parseEndpoint(text: string): Endpoint {
  const unix = /^unix:\/\/(\/.+)$/.exec(text)
  if (unix) return { kind: 'unix', path: unix[1]! }
  const tcp = /^tcp:\/\/([^:/]+):(\d{1,5})\/?$/.exec(text)
  if (tcp) return { kind: 'tcp', host: tcp[1]!, port: Number(tcp[2]) }
  const ssh = /^ssh:\/\/([^@/:]+)@([^:/]+)(?::(\d{1,5}))?\/?$/.exec(text)
  if (ssh) return { kind: 'ssh', user: ssh[1]!, host: ssh[2]!, port: Number(ssh[3] ?? 22) }
  throw new ForrestError('BAD_INPUT', `Docker endpoint "${text}" is not unix:///path, tcp://host:port or ssh://user@host[:port]`, {
    suggestion: 'Write it as the docker CLI takes DOCKER_HOST, e.g. tcp://10.0.0.5:2376 or ssh://deploy@10.0.0.5.',
  })
}

/**
 * Explicit dockerode options for an endpoint, with every connection field set (undefined where
 * unused): docker-modem fills unset fields from DOCKER_HOST/DOCKER_CERT_PATH/DOCKER_TLS_VERIFY,
 * which would send a request meant for one host to another. TLS material is read here; a
 * missing file is bad input naming the host.
 */
export function dockerOptions(name: string, endpoint: Endpoint, sec: EndpointSecurity, env: NodeJS.ProcessEnv): DockerOptions {
  const none = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined, ca: undefined, cert: undefined, key: undefined, username: undefined, sshOptions: undefined } as const
  switch (endpoint.kind) {
    case 'unix':
      return { ...none, socketPath: endpoint.path } as DockerOptions
    case 'tcp': {
      const verify = sec.tls?.verify ?? true
      if (!verify) return { ...none, protocol: 'http', host: endpoint.host, port: endpoint.port } as DockerOptions
      const dir = sec.tls?.certPath ?? env.DOCKER_CERT_PATH ?? join(homedir(), '.docker')
      const read = (f: string) => readHostFile(name, join(dir, f), 'TLS (tls.certPath or DOCKER_CERT_PATH)')
      return { ...none, protocol: 'https', host: endpoint.host, port: endpoint.port, ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') } as DockerOptions
    }
    case 'ssh': {
      const identity = sec.ssh?.identityFile ?? defaultIdentity()
      const knownHosts = readHostFile(name, sec.ssh?.knownHosts ?? join(homedir(), '.ssh', 'known_hosts'), 'ssh known_hosts (ssh.knownHosts)').toString('utf8')
      return {
        ...none,
        protocol: 'ssh',
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.user,
        sshOptions: {
          ...(identity ? { privateKey: readHostFile(name, identity, 'ssh key (ssh.identityFile)') } : { agent: env.SSH_AUTH_SOCK }),
          // Like ssh's StrictHostKeyChecking: an unknown or changed host key is refused.
          hostVerifier: (key: Buffer) => knownHostsAccepts(knownHosts, endpoint.host, endpoint.port, key),
        },
      } as DockerOptions
    }
  }
}

function defaultIdentity(): string | undefined {
  for (const f of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const p = join(homedir(), '.ssh', f)
    try {
      readFileSync(p)
      return p
    } catch {
      // next
    }
  }
  return undefined
}

function readHostFile(host: string, file: string, what: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new ForrestError('BAD_INPUT', `host ${host}: cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      suggestion: 'Point the host at readable files (for tcp://, a directory with ca.pem, cert.pem and key.pem as the docker CLI uses).',
    })
  }
}
