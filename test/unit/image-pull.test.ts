import { describe, expect, it } from 'vitest'
import { PullProgressTracker, type PullEvent } from '../../src/docker/pull-progress.js'
import { classifyRegistryError } from '../../src/docker/registry-errors.js'
import type { ContainerRuntime, ImageInfo, PullProgress, RegistryAuth } from '../../src/docker/runtime.js'
import { configKeyFor, credentialsFromEnv, lookupDockerConfig } from '../../src/image/credentials.js'
import { prePull, PrePullFailed, type HostPullEvent } from '../../src/image/pre-pull.js'
import { resolveImage, revisionImageOn } from '../../src/image/resolve.js'
import { EXIT, ForrestError, exitCodeFor } from '../../src/errors.js'
import { plainPullLines } from '../../src/report/pull-view.js'
import { revisionImage } from '../../src/engine/templates.js'
import { parseImageReference, pinnedReference, shortRef } from '../../src/spec/image-reference.js'

const D1 = `sha256:${'1'.repeat(64)}`
const D2 = `sha256:${'2'.repeat(64)}`

describe('parseImageReference: which registry Docker asks', () => {
  it.each([
    ['nginx', { name: 'nginx', registry: 'docker.io', namesRegistry: false, repository: 'library/nginx' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['demo/myapp:1', { name: 'demo/myapp', registry: 'docker.io', repository: 'demo/myapp', tag: '1' }],
    ['docker.io/demo/myapp:1', { name: 'docker.io/demo/myapp', registry: 'docker.io', namesRegistry: true, repository: 'demo/myapp' }],
    ['index.docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['10.213.0.1:5443/demo/myapp:1', { name: '10.213.0.1:5443/demo/myapp', registry: '10.213.0.1:5443', namesRegistry: true, repository: 'demo/myapp', tag: '1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['Registry.Example/app', { registry: 'Registry.Example', repository: 'app' }],
    ['ghcr.io/org/team/app@' + D1, { name: 'ghcr.io/org/team/app', registry: 'ghcr.io', repository: 'org/team/app', digest: D1 }],
    ['ghcr.io/org/app:v1@' + D1, { registry: 'ghcr.io', repository: 'org/app', tag: 'v1', digest: D1 }],
  ])('%s', (ref, want) => {
    expect(parseImageReference(ref)).toMatchObject(want)
  })

  it('an image ID names no registry', () => {
    expect(parseImageReference('1'.repeat(64))).toBeUndefined()
    expect(parseImageReference(D1)).toBeUndefined()
  })

  it('pins a digest to the name as written, dropping the tag', () => {
    expect(pinnedReference(parseImageReference('10.213.0.1:5443/demo/myapp:1')!, D1)).toBe(`10.213.0.1:5443/demo/myapp@${D1}`)
    expect(shortRef(`r.io/a@${D1}`)).toBe('r.io/a@sha256:111111111111')
  })
})

describe('registry credentials', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64')

  it('reads auths the way docker login writes them, by host with or without scheme', () => {
    const config = { auths: { 'https://10.213.0.1:5443': { auth: b64('lab:pa:ss') }, 'ghcr.io': { identitytoken: 'tok' } } }
    expect(lookupDockerConfig(config, '10.213.0.1:5443')).toEqual({ kind: 'password', username: 'lab', password: 'pa:ss' })
    expect(lookupDockerConfig(config, 'ghcr.io')).toEqual({ kind: 'token', token: 'tok' })
    expect(lookupDockerConfig(config, 'quay.io')).toBeUndefined()
    expect(lookupDockerConfig({}, 'quay.io')).toBeUndefined()
  })

  it('finds Docker Hub under its historical key', () => {
    const config = { auths: { 'https://index.docker.io/v1/': { auth: b64('me:pw') } } }
    expect(lookupDockerConfig(config, 'docker.io')).toEqual({ kind: 'password', username: 'me', password: 'pw' })
    expect(configKeyFor('docker.io')).toBe('https://index.docker.io/v1/')
    expect(configKeyFor('10.213.0.1:5443')).toBe('10.213.0.1:5443')
  })

  it('a credential helper for the registry wins over credsStore, which wins over auths (as the docker CLI does)', () => {
    const config = { auths: { 'r.io': { auth: b64('a:b') } }, credsStore: 'pass', credHelpers: { 'r.io': 'ecr-login' } }
    expect(lookupDockerConfig(config, 'r.io')).toEqual({ kind: 'helper', helper: 'ecr-login' })
    expect(lookupDockerConfig(config, 'other.io')).toEqual({ kind: 'helper', helper: 'pass' })
    expect(lookupDockerConfig({ auths: config.auths }, 'r.io')).toEqual({ kind: 'password', username: 'a', password: 'b' })
  })

  it('FORREST_REGISTRY_USER with a password or a password file; half of it is bad input', async () => {
    expect(await credentialsFromEnv({})).toBeUndefined()
    expect(await credentialsFromEnv({ FORREST_REGISTRY_USER: 'ci', FORREST_REGISTRY_PASSWORD: 'x' })).toEqual({ username: 'ci', password: 'x' })
    const read = async (f: string) => (f === '/run/pw' ? 'from-file\n' : Promise.reject(Object.assign(new Error('nope'), { code: 'ENOENT' })))
    expect(await credentialsFromEnv({ FORREST_REGISTRY_USER: 'ci', FORREST_REGISTRY_PASSWORD_FILE: '/run/pw' }, read)).toEqual({ username: 'ci', password: 'from-file' })
    await expect(credentialsFromEnv({ FORREST_REGISTRY_USER: 'ci' }, read)).rejects.toMatchObject({ code: 'BAD_INPUT' })
    await expect(credentialsFromEnv({ FORREST_REGISTRY_PASSWORD: 'x' }, read)).rejects.toMatchObject({ code: 'BAD_INPUT' })
    const missing = await credentialsFromEnv({ FORREST_REGISTRY_USER: 'ci', FORREST_REGISTRY_PASSWORD_FILE: '/nope' }, read).catch((e: ForrestError) => e)
    expect(missing).toMatchObject({ code: 'BAD_INPUT' })
    expect((missing as Error).message).toContain('ENOENT')
  })
})

describe('classifyRegistryError: what dockerd 20.10 answered in the lab', () => {
  it.each([
    [401, 'unauthorized: authentication required', 'REGISTRY_AUTH_FAILED'],
    [500, 'unauthorized: authentication required', 'REGISTRY_AUTH_FAILED'],
    [500, 'Head "https://10.213.0.1:5443/v2/demo/myapp/manifests/1": no basic auth credentials', 'REGISTRY_AUTH_FAILED'],
    [500, "pull access denied for x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied", 'REGISTRY_AUTH_FAILED'],
    [404, 'manifest unknown: manifest unknown', 'IMAGE_NOT_FOUND'],
    [404, 'manifest for 10.213.0.1:5443/demo/myapp:nope not found: manifest unknown: manifest unknown', 'IMAGE_NOT_FOUND'],
    [500, 'Get "https://10.213.0.1:5999/v2/": dial tcp 10.213.0.1:5999: connect: connection refused', 'REGISTRY_UNREACHABLE'],
    [500, 'Get "https://10.213.0.99:5443/v2/": dial tcp 10.213.0.99:5443: connect: no route to host', 'REGISTRY_UNREACHABLE'],
    [500, 'Get "https://nope.invalid/v2/": dial tcp: lookup nope.invalid: no such host', 'REGISTRY_UNREACHABLE'],
    [500, 'Get "https://r.io/v2/": net/http: TLS handshake timeout', 'REGISTRY_UNREACHABLE'],
    [500, 'Get "https://10.213.0.1:5443/v2/": x509: certificate signed by unknown authority', 'REGISTRY_TLS'],
    [500, 'Get "https://10.213.0.1:5443/v2/": x509: certificate is valid for 10.213.0.1, not 10.213.0.2', 'REGISTRY_TLS'],
    [500, 'Get "https://r.io:5000/v2/": http: server gave HTTP response to HTTPS client', 'REGISTRY_TLS'],
    [500, 'write /var/lib/docker/tmp/x: no space left on device', undefined],
  ])('%s %s', (status, message, code) => {
    expect(classifyRegistryError(status, message)).toBe(code)
  })

  it('each has its own exit code', () => {
    expect([exitCodeFor('REGISTRY_AUTH_FAILED'), exitCodeFor('REGISTRY_UNREACHABLE'), exitCodeFor('REGISTRY_TLS'), exitCodeFor('IMAGE_NOT_FOUND')]).toEqual([16, 17, 18, 8])
    expect([EXIT.registryAuth, EXIT.registryUnreachable, EXIT.registryTls]).toEqual([16, 17, 18])
  })
})

describe('PullProgressTracker', () => {
  it('folds the pull stream into layers and bytes', () => {
    const t = new PullProgressTracker()
    const feed = (e: PullEvent) => t.add(e)
    expect(feed({ status: 'Pulling from demo/big', id: 'r/demo/big@sha256:x' })).toBeUndefined()
    feed({ status: 'Already exists', id: 'a' })
    feed({ status: 'Pulling fs layer', id: 'b' })
    feed({ status: 'Waiting', id: 'c' })
    expect(feed({ status: 'Downloading', id: 'b', progressDetail: { current: 10, total: 100 } })).toEqual({ layers: 3, layersDone: 1, bytes: 10, bytesTotal: 100 })
    feed({ status: 'Downloading', id: 'c', progressDetail: { current: 5, total: 50 } })
    feed({ status: 'Download complete', id: 'b' })
    expect(t.progress()).toEqual({ layers: 3, layersDone: 1, bytes: 105, bytesTotal: 150 })
    feed({ status: 'Pull complete', id: 'b' })
    feed({ status: 'Extracting', id: 'c', progressDetail: { current: 1, total: 50 } })
    feed({ status: 'Pull complete', id: 'c' })
    expect(feed({ status: 'Digest: sha256:x' })).toBeUndefined()
    expect(t.progress()).toEqual({ layers: 3, layersDone: 3, bytes: 150, bytesTotal: 150 })
  })
})

describe('plainPullLines (CI): a line per host when a layer completes, else at most every 2 s', () => {
  it('throttles progress lines', () => {
    const lines: string[] = []
    let clock = Date.parse('2026-11-25T12:00:00Z')
    const on = plainPullLines((l) => lines.push(l.replace(/^\[[0-9:]+\] /, '')), 2000, () => clock)
    const p = (layersDone: number, bytes: number): HostPullEvent => ({ host: 'h1', kind: 'progress', progress: { layers: 2, layersDone, bytes, bytesTotal: 50e6 } })
    on({ host: 'h1', kind: 'start', pulling: true })
    on(p(0, 1e6))
    clock += 500
    on(p(0, 2e6)) // too soon, same layer count
    clock += 2000
    on(p(0, 30e6))
    on(p(1, 31e6)) // a layer completed
    on({ host: 'h1', kind: 'done', pulled: true, ms: 3100 })
    on({ host: 'h2', kind: 'done', pulled: false, ms: 3 })
    expect(lines).toEqual(['h1: pulling', 'h1: 0/2 layers, 1.0/50.0 MB', 'h1: 0/2 layers, 30.0/50.0 MB', 'h1: 1/2 layers, 31.0/50.0 MB', 'h1: pulled in 3.1s (50.0 MB)', 'h2: already present'])
  })
})

/** A fake engine: which references it has, and what a pull of them does. Pure logic only; the real thing is in test/integration/registry.test.ts. */
function fakeEngine(opts: { has?: string[]; pull?: (ref: string, auth?: RegistryAuth) => Promise<void>; digest?: string; repoDigests?: string[] }) {
  const has = new Set(opts.has ?? [])
  const calls: string[] = []
  const info = (ref: string): ImageInfo => ({ id: `sha256:${'a'.repeat(64)}`, exposedPorts: [8080], hasHealthcheck: false, repoDigests: opts.repoDigests ?? (ref.includes('@') ? [ref] : []) })
  const runtime = {
    findImage: async (ref: string) => (has.has(ref) || (has.size > 0 && ref === info(ref).id) ? info(ref) : undefined),
    inspectImage: async (ref: string) => {
      if (!has.has(ref)) throw new ForrestError('IMAGE_NOT_FOUND', ref)
      return info(ref)
    },
    resolveDigest: async (ref: string) => {
      calls.push(`resolve ${ref}`)
      return opts.digest ?? D1
    },
    pull: async (ref: string, auth: RegistryAuth | undefined, onProgress?: (p: PullProgress) => void) => {
      calls.push(`pull ${ref}`)
      await (opts.pull ?? (async () => undefined))(ref, auth)
      onProgress?.({ layers: 1, layersDone: 1, bytes: 1, bytesTotal: 1 })
      has.add(ref)
    },
  } as unknown as ContainerRuntime
  return { runtime, calls }
}

describe('prePull', () => {
  const ref = `r.io/app@${D1}`

  it('pulls in parallel where missing, and finds credentials only if something is pulled', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const started: string[] = []
    const pullGated = (name: string) => async () => {
      started.push(name)
      await gate
    }
    const a = fakeEngine({ pull: pullGated('a') })
    const b = fakeEngine({ pull: pullGated('b') })
    const c = fakeEngine({ has: [ref] })
    let lookups = 0
    const auth = async () => (lookups++, { serveraddress: 'r.io', username: 'u', password: 'p' })
    const pending = prePull([{ name: 'a', runtime: a.runtime }, { name: 'b', runtime: b.runtime }, { name: 'c', runtime: c.runtime }], ref, 'missing', auth)
    await new Promise((r) => setTimeout(r, 10))
    expect(started.sort()).toEqual(['a', 'b']) // both pulls under way before either finished
    release()
    const report = await pending
    expect(report.hosts.map((h) => [h.host, h.pulled])).toEqual([['a', true], ['b', true], ['c', false]])
    expect(lookups).toBe(1)
    const none = await prePull([{ name: 'c', runtime: c.runtime }], ref, 'missing', auth)
    expect(none.hosts[0]!.pulled).toBe(false)
    expect(lookups).toBe(1)
  })

  it('always pulls; never pulls nothing and needs the image everywhere', async () => {
    const a = fakeEngine({ has: [ref] })
    await prePull([{ name: 'a', runtime: a.runtime }], ref, 'always', undefined)
    expect(a.calls).toEqual([`pull ${ref}`])
    const b = fakeEngine({})
    const err = await prePull([{ name: 'a', runtime: a.runtime }, { name: 'b', runtime: b.runtime }], ref, 'never', undefined).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PrePullFailed)
    expect((err as PrePullFailed).failures.map((f) => f.host)).toEqual(['b'])
    expect(b.calls).toEqual([])
  })

  it('waits for every host, then names each one that failed, with its own error', async () => {
    const tls = new ForrestError('REGISTRY_TLS', 'x509: certificate signed by unknown authority')
    const auth = new ForrestError('REGISTRY_AUTH_FAILED', 'unauthorized')
    const ok = fakeEngine({})
    const h2 = fakeEngine({ pull: async () => Promise.reject(tls) })
    const h3 = fakeEngine({ pull: async () => Promise.reject(auth) })
    const events: HostPullEvent[] = []
    const err = (await prePull(
      [{ name: 'h1', runtime: ok.runtime }, { name: 'h2', runtime: h2.runtime }, { name: 'h3', runtime: h3.runtime }],
      ref,
      'missing',
      undefined,
      (e) => events.push(e),
    ).catch((e: unknown) => e)) as PrePullFailed
    expect(err.failures.map((f) => [f.host, f.error.code])).toEqual([['h2', 'REGISTRY_TLS'], ['h3', 'REGISTRY_AUTH_FAILED']])
    expect(err.code).toBe('REGISTRY_TLS') // the first failed host's
    expect(err.exit).toBe(18)
    expect(err.succeeded).toEqual(['h1'])
    expect(err.message).toContain('on h2, h3 (2 of 3 hosts); nothing was changed')
    expect(events.filter((e) => e.kind === 'done' || e.kind === 'failed').map((e) => `${e.host}:${e.kind}`).sort()).toEqual(['h1:done', 'h2:failed', 'h3:failed'])
  })
})

describe('resolveImage: one digest, decided once', () => {
  it('a tag from a registry is resolved once and the digest pulled everywhere', async () => {
    const a = fakeEngine({ digest: D2 })
    const b = fakeEngine({})
    const r = await resolveImage('r.io/app:1', 'missing', [{ name: 'a', runtime: a.runtime }, { name: 'b', runtime: b.runtime }], { env: {} })
    expect(r).toMatchObject({ ref: `r.io/app@${D2}`, digest: D2, pulled: ['a', 'b'] })
    expect(a.calls).toEqual(['resolve r.io/app:1', `pull r.io/app@${D2}`])
    expect(b.calls).toEqual([`pull r.io/app@${D2}`]) // b never asks the registry what the tag means
  })

  it('a reference with a digest is not resolved', async () => {
    const a = fakeEngine({ has: [`r.io/app@${D1}`] })
    const r = await resolveImage(`r.io/app:1@${D1}`, 'missing', [{ name: 'a', runtime: a.runtime }], { env: {} })
    expect(r).toMatchObject({ ref: `r.io/app@${D1}`, digest: D1, pulled: [] })
    expect(a.calls).toEqual([])
  })

  it('an image built here, whose name names no registry, is used by its ID without asking Docker Hub', async () => {
    const a = fakeEngine({ has: ['demo/myapp:1'], repoDigests: ['10.213.0.1:5443/demo/myapp@' + D1] })
    const r = await resolveImage('demo/myapp:1', 'missing', [{ name: 'a', runtime: a.runtime }], { env: {} })
    expect(r.ref).toBe(`sha256:${'a'.repeat(64)}`)
    expect(r.digest).toBeUndefined()
    expect(a.calls).toEqual([])
  })

  it('the same name once pulled from Docker Hub is checked there (pull: missing with the digest check)', async () => {
    const a = fakeEngine({ has: ['nginx:1', `nginx@${D2}`], repoDigests: [`nginx@${D2}`], digest: D2 })
    const r = await resolveImage('nginx:1', 'missing', [{ name: 'a', runtime: a.runtime }], { env: {} })
    expect(r).toMatchObject({ ref: `nginx@${D2}`, digest: D2, pulled: [] })
    expect(a.calls).toEqual(['resolve nginx:1'])
  })

  it('pull: never asks nothing, pulls nothing, keeps the digest the engine recorded', async () => {
    const a = fakeEngine({ has: ['r.io/app:1', `r.io/app@${D1}`], repoDigests: [`r.io/app@${D1}`] })
    const r = await resolveImage('r.io/app:1', 'never', [{ name: 'a', runtime: a.runtime }], { env: {} })
    expect(r).toMatchObject({ ref: `r.io/app@${D1}`, digest: D1, pulled: [] })
    expect(a.calls).toEqual([])
    const b = fakeEngine({})
    await expect(resolveImage('r.io/app:1', 'never', [{ name: 'b', runtime: b.runtime }], { env: {} })).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' })
  })
})

describe('revisionImage: what instances run', () => {
  const spec = { image: '10.213.0.1:5443/demo/myapp:1' } as never
  it('name@digest for a revision from a registry, else the image ID', () => {
    expect(revisionImage({ spec, imageId: 'sha256:aa', digest: D1 })).toBe(`10.213.0.1:5443/demo/myapp@${D1}`)
    expect(revisionImage({ spec, imageId: 'sha256:aa' })).toBe('sha256:aa')
  })
})

describe('images built or loaded on the hosts: the same image everywhere, or refused', () => {
  const engine = (id: string | undefined) =>
    ({
      findImage: async () => (id ? { id, exposedPorts: [8080], hasHealthcheck: false, repoDigests: [] } : undefined),
    }) as unknown as ContainerRuntime
  const A = `sha256:${'a'.repeat(64)}`
  const B = `sha256:${'b'.repeat(64)}`

  it('refuses two different images under one name', async () => {
    const err = await resolveImage('demo/myapp:1', 'missing', [{ name: 'local', runtime: engine(A) }, { name: 'h1', runtime: engine(B) }], { env: {} }).catch((e: ForrestError) => e)
    expect(err).toMatchObject({ code: 'BAD_INPUT' })
    expect((err as Error).message).toContain('not the same on every host (local: aaaaaaaaaaaa, h1: bbbbbbbbbbbb)')
  })

  it('names the hosts that lack it', async () => {
    const err = await resolveImage('demo/myapp:1', 'never', [{ name: 'local', runtime: engine(A) }, { name: 'h1', runtime: engine(undefined) }], { env: {} }).catch((e: ForrestError) => e)
    expect(err).toMatchObject({ code: 'IMAGE_NOT_FOUND' })
    expect((err as Error).message).toBe('image "demo/myapp:1" is not on h1, and the deployment file says pull: never')
  })

  it('a revision without a digest needs its image ID on every host; with one it is pulled by digest', async () => {
    const rec = { imageId: A, spec: { image: 'demo/myapp:1' } }
    expect(await revisionImageOn([{ name: 'local', runtime: engine(A) }], rec)).toMatchObject({ ref: A, imageId: A, pulled: [] })
    await expect(revisionImageOn([{ name: 'local', runtime: engine(undefined) }], rec)).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' })
    const a = fakeEngine({})
    const r = await revisionImageOn([{ name: 'a', runtime: a.runtime }], { imageId: A, digest: D2, spec: { image: 'r.io/app:1' } }, { env: {} })
    expect(r).toMatchObject({ ref: `r.io/app@${D2}`, digest: D2, pulled: ['a'] })
    expect(a.calls).toEqual([`pull r.io/app@${D2}`]) // the digest, never the tag
  })
})
