/**
 * The production-topology lab (scripts/lab/up.sh) as tests see it: two more Docker engines, h1
 * (mutual TLS) and h2 (mutual TLS and ssh), and a registry with TLS + htpasswd that every engine
 * trusts. Everything comes from the env file up.sh writes (/tmp/forrest-lab/lab.env, or
 * $FORREST_LAB_ENV). A test that needs the lab calls requireLab() in beforeAll: when the lab is
 * missing or down it FAILS, saying how to bring it up; it never skips.
 */
import { execFile } from 'node:child_process'
import { readFileSync, renameSync, existsSync } from 'node:fs'
import { get as httpsGet } from 'node:https'
import { promisify } from 'node:util'
import type Docker from 'dockerode'
import { dockerWithOptions } from '../../src/docker/connect.js'
import { DockerRuntime } from '../../src/docker/docker-runtime.js'
import { dockerOptions, parseEndpoint } from '../../src/hosts/endpoint.js'
import type { RegistryAuth } from '../../src/docker/runtime.js'

const execFileP = promisify(execFile)

export type LabHost = 'h1' | 'h2'
/** How a test reaches an engine: the default one (unix socket), a lab host over TLS, h2 over ssh. */
export type LabEngine = 'default' | LabHost | 'h2-ssh'

export interface Lab {
  /** 10.213.0.1:5443 */
  registry: string
  user: string
  password: string
  passwordFile: string
  /** A docker CLI config dir logged in to the registry (for pushes from tests). */
  dockerConfig: string
  /** ca.pem, cert.pem, key.pem: the client side of the engines' mutual TLS. */
  certPath: string
  /** The ~50 MB image pushed by up.sh (registry/demo/big:1). */
  bigImage: string
  auth: RegistryAuth
  /** Explicit dockerode options for each engine (no environment involved). */
  options(engine: LabEngine): Docker.DockerOptions
  runtime(engine: LabEngine): DockerRuntime
  /** The docker CLI against an engine (lab hosts over TLS), with the lab's logged-in config. */
  docker(engine: 'default' | LabHost, ...args: string[]): Promise<string>
  /** Runs fn while the host's engine does not trust the registry's CA; puts the trust back after. */
  withoutTrust<T>(host: LabHost, fn: () => Promise<T>): Promise<T>
}

export const LAB_ENV_FILE = process.env.FORREST_LAB_ENV ?? '/tmp/forrest-lab/lab.env'
const HOW = 'run scripts/lab/up.sh as root (.ci/run does it before npm test)'

export class LabMissing extends Error {
  constructor(why: string) {
    super(`the forrest lab is not up (${why}): ${HOW}`)
    this.name = 'LabMissing'
  }
}

/** The lab's env file as variables (FORREST_LAB_*); a missing file fails with how to start the lab. */
export function labEnvVars(): Record<string, string> {
  let text: string
  try {
    text = readFileSync(LAB_ENV_FILE, 'utf8')
  } catch {
    throw new LabMissing(`no ${LAB_ENV_FILE}`)
  }
  return parseLabEnv(text)
}

/** KEY=VALUE lines, with or without `export`, comments ignored. Values have no spaces or quotes. */
export function parseLabEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (m) out[m[1]!] = m[2]!
  }
  return out
}

/** Explicit options for the local engine: $DOCKER_HOST (unix:// or tcp:// with DOCKER_CERT_PATH), else the default socket. */
function localEngineOptions(): Docker.DockerOptions {
  const endpoint = parseEndpoint(process.env.DOCKER_HOST || 'unix:///var/run/docker.sock')
  return dockerOptions('local', endpoint, { tls: { certPath: process.env.DOCKER_CERT_PATH, verify: process.env.DOCKER_TLS_VERIFY !== '' && process.env.DOCKER_TLS_VERIFY !== '0' } }, process.env)
}

function httpsStatus(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca, timeout: 3000 }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('timed out')))
  })
}

function tcpEndpoint(url: string): { host: string; port: number } {
  const u = new URL(url.replace(/^tcp:/, 'https:'))
  return { host: u.hostname, port: Number(u.port) }
}

/** Loads the lab's env file and checks every engine and the registry answer; throws LabMissing otherwise. */
export async function requireLab(): Promise<Lab> {
  if (!existsSync(LAB_ENV_FILE)) throw new LabMissing(`no ${LAB_ENV_FILE}`)
  const env = parseLabEnv(readFileSync(LAB_ENV_FILE, 'utf8'))
  const get = (k: string): string => {
    const v = env[k]
    if (!v) throw new LabMissing(`${LAB_ENV_FILE} has no ${k}; it was written by an older scripts/lab/up.sh`)
    return v
  }
  const certPath = get('FORREST_LAB_CERT_PATH')
  const read = (f: string) => {
    try {
      return readFileSync(f)
    } catch {
      throw new LabMissing(`cannot read ${f}`)
    }
  }
  const tls = { ca: read(`${certPath}/ca.pem`), cert: read(`${certPath}/cert.pem`), key: read(`${certPath}/key.pem`) }
  const ssh = new URL(get('FORREST_LAB_H2_SSH'))
  const knownKeys = read(get('FORREST_LAB_SSH_KNOWN_HOSTS'))
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s+/)[2]!)
  const options: Record<LabEngine, Docker.DockerOptions> = {
    // The local engine as forrest sees it ($DOCKER_HOST, as the docker CLI reads it).
    default: localEngineOptions(),
    h1: { protocol: 'https', ...tcpEndpoint(get('FORREST_LAB_H1_TLS')), ...tls },
    h2: { protocol: 'https', ...tcpEndpoint(get('FORREST_LAB_H2_TLS')), ...tls },
    'h2-ssh': {
      protocol: 'ssh',
      host: ssh.hostname,
      port: Number(ssh.port || 22),
      username: ssh.username,
      sshOptions: {
        privateKey: read(get('FORREST_LAB_SSH_KEY')),
        // ssh2 accepts any host key unless told: check it against the lab's known_hosts.
        hostVerifier: (key: Buffer) => knownKeys.includes(key.toString('base64')),
      } as Docker.DockerOptions['sshOptions'],
    },
  }
  const passwordFile = get('FORREST_LAB_REGISTRY_PASSWORD_FILE')
  const password = read(passwordFile).toString().trim()
  const registry = get('FORREST_LAB_REGISTRY')
  const user = get('FORREST_LAB_REGISTRY_USER')
  const dockerConfig = get('FORREST_LAB_DOCKER_CONFIG')
  // (derived from the lab's layout when an env file from before these lines does not name them)
  const trustOf = (h: LabHost) => env[`FORREST_LAB_${h.toUpperCase()}_TRUST`] ?? `${get('FORREST_LAB_DIR')}/${h}/etc-docker/certs.d/${registry}/ca.crt`
  const trust: Record<LabHost, string> = { h1: trustOf('h1'), h2: trustOf('h2') }
  const runtimes = new Map<LabEngine, DockerRuntime>()
  const runtime = (e: LabEngine) => {
    let r = runtimes.get(e)
    if (!r) runtimes.set(e, (r = new DockerRuntime(dockerWithOptions(options[e]))))
    return r
  }
  const cliEnv = { ...process.env, DOCKER_HOST: '', DOCKER_CONTEXT: '', DOCKER_CONFIG: dockerConfig, DOCKER_CERT_PATH: certPath }
  const lab: Lab = {
    registry,
    user,
    password,
    passwordFile,
    dockerConfig,
    certPath,
    bigImage: get('FORREST_LAB_BIG_IMAGE'),
    auth: { serveraddress: registry, username: user, password },
    options: (e) => options[e],
    runtime,
    docker: async (e, ...args) => {
      const target = e === 'default' ? [] : ['--tlsverify', '-H', get(`FORREST_LAB_${e.toUpperCase()}_TLS`)]
      // The local engine: the environment's, as for every other test helper; a lab host: its TLS endpoint.
      const { stdout } = await execFileP('docker', [...target, ...args], { env: e === 'default' ? { ...process.env, DOCKER_CONFIG: dockerConfig } : cliEnv, maxBuffer: 16 << 20 })
      return stdout.trim()
    },
    withoutTrust: async (host, fn) => {
      const file = trust[host]
      renameSync(file, `${file}.off`)
      try {
        return await fn()
      } finally {
        renameSync(`${file}.off`, file)
      }
    },
  }
  // Up, not just configured: each engine answers, and the registry asks for credentials.
  const down: string[] = []
  await Promise.all(
    (['h1', 'h2', 'h2-ssh'] as const).map(async (e) => {
      try {
        await runtime(e).ping()
      } catch (err) {
        down.push(`${e}: ${(err as Error).message}`)
      }
    }),
  )
  try {
    const status = await httpsStatus(`https://${registry}/v2/`, read(get('FORREST_LAB_CA')))
    if (status !== 401) down.push(`registry https://${registry}/v2/ answered ${status}, not 401`)
  } catch (err) {
    down.push(`registry ${registry}: ${(err as Error).message}`)
  }
  if (down.length) throw new LabMissing(down.join('; '))
  return lab
}
