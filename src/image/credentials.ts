/**
 * Registry credentials, found the way the docker CLI finds them, for the Docker engine to use
 * when it pulls (X-Registry-Auth). In order:
 *   1. FORREST_REGISTRY_USER with FORREST_REGISTRY_PASSWORD or FORREST_REGISTRY_PASSWORD_FILE (CI),
 *      for the one registry FORREST_REGISTRY_SERVER names, and never for any other
 *   2. FORREST_REGISTRY_AUTH_FILE: a file of several registries' credentials, written like the docker
 *      CLI's config.json ({"auths": {"registry.example.com": {"auth": base64(user:password)}}}), each
 *      entry sent only to the registry it is keyed by (several registries for one job)
 *   3. the docker CLI's config.json ($DOCKER_CONFIG/config.json, else ~/.docker/config.json):
 *      credHelpers[registry], else credsStore, else auths[registry] (`docker login` writes these)
 *   4. none: the registry must allow anonymous pulls.
 * A password is never logged, printed, or put in an error.
 */
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import createDebug from 'debug'
import type { RegistryAuth } from '../docker/runtime.js'
import { ForrestError } from '../errors.js'
import { DOCKER_HUB } from '../spec/image-reference.js'
import { runCredentialHelper } from './credential-helper.js'

const debug = createDebug('forrest:registry-auth')

/** The parts of config.json that hold credentials. */
export interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>
  credsStore?: string
  credHelpers?: Record<string, string>
}

export type ConfigCredentials =
  | { kind: 'password'; username: string; password: string }
  | { kind: 'token'; token: string }
  | { kind: 'helper'; helper: string }

/** The key `docker login` stores a registry under: Docker Hub keeps its historical URL. */
export const configKeyFor = (registry: string): string => (registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry)

/** "https://host:port/v1/" and "host:port" are the same registry; Docker Hub has several names. */
function sameRegistry(key: string, registry: string): boolean {
  const host = key.replace(/^[a-z]+:\/\//i, '').split('/')[0]!.toLowerCase()
  const want = registry.toLowerCase()
  if (want === DOCKER_HUB) return ['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(host)
  return host === want
}

/** What config.json says for a registry, as the docker CLI reads it. Pure. */
export function lookupDockerConfig(config: DockerConfigFile, registry: string): ConfigCredentials | undefined {
  const helper = Object.entries(config.credHelpers ?? {}).find(([k]) => sameRegistry(k, registry))?.[1]
  if (helper) return { kind: 'helper', helper }
  // With a credsStore the CLI keeps only empty placeholders in auths: the store is the source.
  if (config.credsStore) return { kind: 'helper', helper: config.credsStore }
  const entry = Object.entries(config.auths ?? {}).find(([k]) => sameRegistry(k, registry))?.[1]
  if (!entry) return undefined
  if (entry.identitytoken) return { kind: 'token', token: entry.identitytoken }
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon > 0) return { kind: 'password', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
  }
  if (entry.username && entry.password) return { kind: 'password', username: entry.username, password: entry.password }
  return undefined
}

/**
 * The registry FORREST_REGISTRY_USER's credentials are for (FORREST_REGISTRY_SERVER: host[:port],
 * or docker.io), or undefined when no such credentials are set. They are bound to it: whoever can
 * edit a deployment file chooses the image's registry, and must not collect the job's password by
 * naming theirs. Set without a server is bad input (no guessing from the image).
 */
export function registryOfEnvCredentials(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.FORREST_REGISTRY_USER && !env.FORREST_REGISTRY_PASSWORD && !env.FORREST_REGISTRY_PASSWORD_FILE) return undefined
  const server = (env.FORREST_REGISTRY_SERVER ?? '').trim()
  if (!server) {
    throw new ForrestError('BAD_INPUT', 'FORREST_REGISTRY_USER/FORREST_REGISTRY_PASSWORD are set but FORREST_REGISTRY_SERVER is not: forrest sends these credentials only to the registry it names', {
      suggestion: 'Set FORREST_REGISTRY_SERVER to the registry host[:port] the credentials are for (e.g. registry.example.com, or docker.io for Docker Hub).',
    })
  }
  if (/[\s/]/.test(server.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, ''))) {
    throw new ForrestError('BAD_INPUT', `FORREST_REGISTRY_SERVER "${server}" is not a registry host[:port]`, { suggestion: 'Write only the host and port, e.g. registry.example.com:5000 (no path).' })
  }
  return server
}

/** FORREST_REGISTRY_USER + FORREST_REGISTRY_PASSWORD(_FILE); a half-set pair is bad input. */
export async function credentialsFromEnv(env: NodeJS.ProcessEnv, read: (file: string) => Promise<string> = (f) => readFile(f, 'utf8')): Promise<{ username: string; password: string } | undefined> {
  const username = env.FORREST_REGISTRY_USER
  const file = env.FORREST_REGISTRY_PASSWORD_FILE
  let password = env.FORREST_REGISTRY_PASSWORD
  if (!username && !password && !file) return undefined
  if (password === undefined && file) {
    try {
      password = (await read(file)).replace(/\r?\n$/, '')
    } catch (err) {
      throw new ForrestError('BAD_INPUT', `FORREST_REGISTRY_PASSWORD_FILE ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        suggestion: 'Point it at a readable file holding only the password.',
      })
    }
  }
  if (!username || password === undefined || password === '') {
    throw new ForrestError('BAD_INPUT', `registry credentials need both FORREST_REGISTRY_USER and FORREST_REGISTRY_PASSWORD (or FORREST_REGISTRY_PASSWORD_FILE); only ${username ? 'the user' : 'the password'} is set`, {
      suggestion: 'Set both, or neither (then the docker CLI\'s config.json is used).',
    })
  }
  return { username, password }
}

/** $DOCKER_CONFIG/config.json or ~/.docker/config.json; none is fine, unreadable JSON is not. */
export async function readDockerConfig(env: NodeJS.ProcessEnv): Promise<{ file: string; config: DockerConfigFile } | undefined> {
  const file = join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return undefined
  }
  try {
    return { file, config: JSON.parse(text) as DockerConfigFile }
  } catch {
    throw new ForrestError('BAD_INPUT', `${file} is not valid JSON`, { suggestion: 'Fix or remove it (docker login writes it).' })
  }
}

/**
 * FORREST_REGISTRY_AUTH_FILE, when set: its `auths` only (no helpers or stores: the file is the
 * credential). Set but unreadable or not JSON is bad input: the job asked for it.
 */
export async function readRegistryAuthFile(env: NodeJS.ProcessEnv, read: (file: string) => Promise<string> = (f) => readFile(f, 'utf8')): Promise<{ file: string; config: DockerConfigFile } | undefined> {
  const file = env.FORREST_REGISTRY_AUTH_FILE
  if (!file) return undefined
  let text: string
  try {
    text = await read(file)
  } catch (err) {
    throw new ForrestError('BAD_INPUT', `FORREST_REGISTRY_AUTH_FILE ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; nothing was changed`, {
      suggestion: 'Point it at a readable file like the docker CLI\'s config.json: {"auths": {"registry.example.com": {"auth": "<base64 of user:password>"}}}.',
    })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  const auths = parsed && typeof parsed === 'object' ? (parsed as DockerConfigFile).auths : undefined
  if (!auths || typeof auths !== 'object' || Array.isArray(auths)) {
    throw new ForrestError('BAD_INPUT', `FORREST_REGISTRY_AUTH_FILE ${file} is not a JSON object with "auths" (as the docker CLI's config.json); nothing was changed`, {
      suggestion: 'Write {"auths": {"registry.example.com": {"auth": "<base64 of user:password>"}, "other.example.com:5000": {"username": "u", "password": "p"}}}.',
    })
  }
  return { file, config: { auths } }
}

/** The credentials for pulling from `registry` (host[:port], or docker.io), or undefined for none. */
export async function registryAuthFor(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<RegistryAuth | undefined> {
  const serveraddress = configKeyFor(registry)
  const envServer = registryOfEnvCredentials(env)
  if (envServer !== undefined && sameRegistry(envServer, registry)) {
    const fromEnv = (await credentialsFromEnv(env))!
    debug('%s: credentials of user %s from FORREST_REGISTRY_USER', registry, fromEnv.username)
    return { serveraddress, ...fromEnv }
  }
  if (envServer !== undefined) debug('%s: FORREST_REGISTRY_USER is for %s, not sent here', registry, envServer)
  const authFile = await readRegistryAuthFile(env)
  // Looked up by the registry's own name: an entry is never sent to a registry it is not keyed by.
  const fromFile = authFile && lookupDockerConfig(authFile.config, registry)
  if (fromFile?.kind === 'password') {
    debug('%s: credentials of user %s from FORREST_REGISTRY_AUTH_FILE', registry, fromFile.username)
    return { serveraddress, username: fromFile.username, password: fromFile.password }
  }
  if (fromFile?.kind === 'token') return { serveraddress, identitytoken: fromFile.token }
  const found = await readDockerConfig(env)
  const creds = found && lookupDockerConfig(found.config, registry)
  if (!creds) {
    debug('%s: no credentials (%s)', registry, found ? `none in ${found.file}` : 'no docker config.json')
    return undefined
  }
  if (creds.kind === 'password') {
    debug('%s: credentials of user %s from %s', registry, creds.username, found!.file)
    return { serveraddress, username: creds.username, password: creds.password }
  }
  if (creds.kind === 'token') return { serveraddress, identitytoken: creds.token }
  const fromHelper = await runCredentialHelper(creds.helper, serveraddress, registry)
  debug('%s: %s from docker-credential-%s', registry, fromHelper ? 'credentials' : 'no credentials', creds.helper)
  if (!fromHelper) return undefined
  return fromHelper.username === '<token>' ? { serveraddress, identitytoken: fromHelper.secret } : { serveraddress, username: fromHelper.username, password: fromHelper.secret }
}
