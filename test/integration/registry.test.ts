/**
 * Images from a real registry (issue #14), against the lab (scripts/lab/up.sh): Debian's
 * docker-registry with TLS (lab CA) and htpasswd, the default engine and two more engines, h1
 * over mutual TLS and h2 over TLS and ssh. Each run pushes its own repository
 * (<registry>/forrest-test/<run id>) and removes it, its images and its containers afterwards.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { prePull, PrePullFailed } from '../../src/image/pre-pull.js'
import { containersWithLabel, docker, forrest, httpGet, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { requireLab, type Lab } from '../helpers/lab.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('registry')
const short = run.id.slice(-6)
let lab: Lab
let etcd: TestEtcd
let client: Etcd3
let scratch: string
let repo: string
/** The two images this run pushes: busybox httpd answering v1 / v2, each with its own ID. */
const img: Record<'v1' | 'v2', { id: string; digest: string }> = { v1: { id: '', digest: '' }, v2: { id: '', digest: '' } }

const fast = { replicas: 2, 'health.interval': '100ms', 'health.deadline': '10s', 'update.drain': '100ms', 'update.stopGracePeriod': '2s' }
/** The local engine's address: 127.0.0.1, or the host of a tcp:// DOCKER_HOST (published ports bind there). */
const localIp = /^tcp:\/\/([^:/]+)/.exec(process.env.DOCKER_HOST ?? '')?.[1] ?? '127.0.0.1'
const env = (extra: Record<string, string> = {}) => run.env(etcd.endpoint, { DOCKER_CONFIG: lab.dockerConfig, FORREST_IP: localIp, ...extra })
const appContainers = async (app: string) => (await docker('ps', '-aq', '--filter', `label=forrest.app=${app}`)).split('\n').filter(Boolean)
/** Config.Image (what it was started from) and the image ID of each container of the app. */
async function whatRuns(app: string): Promise<Array<{ image: string; id: string }>> {
  const ids = await appContainers(app)
  if (!ids.length) return []
  return (await docker('inspect', '-f', '{{.Config.Image}} {{.Image}}', ...ids)).split('\n').map((l) => ({ image: l.split(' ')[0]!, id: l.split(' ')[1]! }))
}
const keysOf = async (app: string) => Object.keys(await client.getAll().prefix(`/${run.prefix}/${app}-`).strings())
const bodies = async (app: string) => Promise.all(Object.values(await client.getAll().prefix(`/${run.prefix}/${app}-`).strings()).map(async (a) => (await httpGet(a)).body))

/** Drops an image from an engine by ID (every tag and digest of it), if it is there. */
async function dropImage(engine: 'default' | 'h1' | 'h2', id: string): Promise<void> {
  await lab.docker(engine, 'image', 'rm', '-f', id).catch(() => undefined)
}

/** DELETE /v2/<name>/manifests/<digest>: the registry forgets this run's repository. */
function deleteManifest(name: string, digest: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request(`https://${lab.registry}/v2/${name}/manifests/${digest}`, { method: 'DELETE', ca: readFileSync(`${lab.certPath}/ca.pem`), auth: `${lab.user}:${lab.password}`, timeout: 5000 }, (res) => {
      res.resume()
      res.on('end', () => resolve())
    })
    req.on('error', () => resolve())
    req.end()
  })
}

/** A distinct image per run from demo/myapp:N (docker commit adds its own layer), pushed as <repo>:<tag>. */
async function pushImage(from: string, tag: string): Promise<{ id: string; digest: string }> {
  const cid = await docker('create', '--label', run.label, from)
  const id = await docker('commit', '-c', `LABEL forrest-test.image=${run.id}-${tag}`, cid)
  await docker('rm', cid)
  await lab.docker('default', 'tag', id, `${repo}:${tag}`)
  await lab.docker('default', 'push', '-q', `${repo}:${tag}`)
  const digest = (await docker('inspect', '-f', '{{index .RepoDigests 0}}', id)).split('@')[1]!
  return { id, digest }
}

beforeAll(async () => {
  lab = await requireLab()
  repo = `${lab.registry}/forrest-test/${run.id}`
  etcd = await startEtcd()
  client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
  scratch = await mkdtemp(join(tmpdir(), 'forrest-registry-'))
  img.v1 = await pushImage('demo/myapp:1', '1')
  img.v2 = await pushImage('demo/myapp:2', '2')
  // Not on any engine any more: every deploy below has to pull.
  for (const e of ['default', 'h1', 'h2'] as const) for (const i of [img.v1, img.v2]) await dropImage(e, i.id)
}, 120_000)

afterAll(async () => {
  await removeByLabel(run.label)
  for (const e of ['h1', 'h2'] as const) {
    const ids = await lab?.docker(e, 'ps', '-aq', '--filter', `label=${run.label}`).catch(() => '')
    if (ids) await lab.docker(e, 'rm', '-f', ...ids.split('\n'))
  }
  for (const e of ['default', 'h1', 'h2'] as const) for (const i of Object.values(img)) if (i.id && lab) await dropImage(e, i.id)
  for (const i of Object.values(img)) if (i.digest && lab) await deleteManifest(`forrest-test/${run.id}`, i.digest)
  client?.close()
  await etcd?.stop()
  if (scratch) await rm(scratch, { recursive: true, force: true })
}, 120_000)

describe('images from a private registry (TLS + htpasswd)', () => {
  it('deploy resolves the tag once, pulls with the docker CLI login, runs name@digest everywhere, records it; the password is never printed', async () => {
    const app = `ra${short}`
    const file = specFile(app, { ...fast, name: app, image: `${repo}:1` })
    // DEBUG=* too: docker-modem would print X-Registry-Auth (base64 of the password) if it could.
    const res = await forrest(['deploy', file, '--debug'], env({ DEBUG: '*' }))
    expect(res.code, res.stderr.slice(-2000)).toBe(0)
    const pinned = `${repo}@${img.v1.digest}`
    expect(res.stdout).toContain('local: pulling')
    expect(res.stdout).toMatch(/local: pulled in \d+\.\ds/)
    expect(res.stdout).toContain(`image ${repo}@${img.v1.digest.slice(0, 19)} (pulled on local)`)
    const all = res.stdout + res.stderr
    expect(all).not.toContain(lab.password)
    expect(all).not.toContain(Buffer.from(lab.password).toString('base64').slice(0, 16))
    expect(all).not.toContain(Buffer.from(`${lab.user}:${lab.password}`).toString('base64'))

    expect(await whatRuns(app)).toEqual([
      { image: pinned, id: img.v1.id },
      { image: pinned, id: img.v1.id },
    ])
    expect(await bodies(app)).toEqual(['v1', 'v1'])
    const hist = JSON.parse((await forrest(['history', app, '--json'], env())).stdout)
    expect(hist.revisions[0]).toMatchObject({ revision: 1, image: `${repo}:1`, imageId: img.v1.id, digest: img.v1.digest })
    expect((await forrest(['history', app], env())).stdout).toContain(`@${img.v1.digest.slice(0, 19)}`)
    const status = await forrest(['status', app], env())
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).toContain(`${repo}:1@${img.v1.digest.slice(0, 19)}`)

    // Unchanged file, digest present: nothing pulled, nothing changed.
    const again = await forrest(['deploy', file, '--json'], env())
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'noop', revision: 1, image: { digest: img.v1.digest, pulled: [] } })
  }, 90_000)

  it('CI credentials (FORREST_REGISTRY_USER + _PASSWORD_FILE), then a credential helper for scale, which pulls the recorded digest', async () => {
    const app = `rb${short}`
    const empty = join(scratch, 'no-docker-config')
    const ci = { DOCKER_CONFIG: empty, FORREST_REGISTRY_SERVER: lab.registry, FORREST_REGISTRY_USER: lab.user, FORREST_REGISTRY_PASSWORD_FILE: lab.passwordFile }
    const res = await forrest(['deploy', specFile(app, { ...fast, name: app, replicas: 1, image: `${repo}:2` })], env(ci))
    expect(res.code, res.stderr).toBe(0)
    expect(await bodies(app)).toEqual(['v2'])

    // Scale to 0, drop the image, then scale up with credentials from a credential helper only.
    expect((await forrest(['scale', app, '0'], env(ci))).code).toBe(0)
    await dropImage('default', img.v2.id)
    const bin = join(scratch, 'bin')
    const cfg = join(scratch, 'helper-config')
    await mkdir(bin, { recursive: true })
    await mkdir(cfg, { recursive: true })
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ credsStore: 'forresttest' }))
    // The docker credential helper protocol: server address on stdin, JSON on stdout.
    await writeFile(
      join(bin, 'docker-credential-forresttest'),
      `#!/bin/sh\nread server\n[ "$1" = get ] || exit 1\n[ "$server" = "${lab.registry}" ] || { echo "credentials not found in native keychain"; exit 1; }\nprintf '{"ServerURL":"%s","Username":"${lab.user}","Secret":"%s"}' "$server" "$(cat ${lab.passwordFile})"\n`,
      { mode: 0o755 },
    )
    const helperEnv = env({ DOCKER_CONFIG: cfg, PATH: `${bin}:${process.env.PATH}` })
    const scaled = await forrest(['scale', app, '2'], helperEnv)
    expect(scaled.code, scaled.stderr).toBe(0)
    expect(scaled.stdout).toContain('local: pulled in')
    expect(await whatRuns(app)).toEqual([
      { image: `${repo}@${img.v2.digest}`, id: img.v2.id },
      { image: `${repo}@${img.v2.digest}`, id: img.v2.id },
    ])
  }, 90_000)

  it('each registry failure has its own error and exit code, and changes nothing', async () => {
    const emptyConfig = join(scratch, 'empty-config')
    const cases: Array<[string, string, Record<string, string>, string, number, RegExp]> = [
      ['bad-password', `${repo}:1`, { FORREST_REGISTRY_SERVER: lab.registry, FORREST_REGISTRY_USER: lab.user, FORREST_REGISTRY_PASSWORD: 'not-the-password' }, 'REGISTRY_AUTH_FAILED', 16, /refused the credentials of user lab/],
      ['no-credentials', `${repo}:1`, { DOCKER_CONFIG: emptyConfig }, 'REGISTRY_AUTH_FAILED', 16, /wants credentials and forrest found none/],
      ['unknown-tag', `${repo}:nope`, {}, 'IMAGE_NOT_FOUND', 8, /no such repository or tag/],
      ['unknown-repo', `${lab.registry}/forrest-test/none-${run.id}:1`, {}, 'IMAGE_NOT_FOUND', 8, /no such repository or tag/],
      ['unreachable', `${lab.registry.split(':')[0]}:5999/forrest-test/x:1`, {}, 'REGISTRY_UNREACHABLE', 17, /registry unreachable: .*connection refused/],
    ]
    for (const [name, image, extra, code, exit, message] of cases) {
      const app = `rc${name.slice(0, 4)}${short}`
      const res = await forrest(['deploy', specFile(app, { ...fast, name: app, image })], env(extra))
      expect(res.code, `${name}: ${res.stderr}`).toBe(exit)
      expect(res.stderr).toContain(`Error (${code})`)
      expect(res.stderr).toMatch(message)
      expect(res.stderr).toContain('nothing was changed')
      expect(res.stderr + res.stdout).not.toContain(lab.password)
      expect(res.stderr + res.stdout).not.toContain('not-the-password')
      expect(await appContainers(app)).toEqual([])
      expect(await keysOf(app)).toEqual([])
      expect((await forrest(['history', app], env())).code).toBe(EXIT.notFound) // no revision recorded
    }

    // An engine that does not trust the registry's CA: forrest run against h2 (DOCKER_HOST, as users point it).
    const app = `rctls${short}`
    const onH2 = env({ DOCKER_HOST: `tcp://${lab.options('h2').host}:${lab.options('h2').port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: lab.certPath })
    const res = await lab.withoutTrust('h2', () => forrest(['deploy', specFile(app, { ...fast, name: app, image: `${repo}:1` })], onH2))
    expect(res.code, res.stderr).toBe(EXIT.registryTls)
    expect(res.stderr).toContain('Error (REGISTRY_TLS)')
    expect(res.stderr).toContain('x509: certificate signed by unknown authority')
    expect(res.stderr).toContain(`/etc/docker/certs.d/${lab.registry}/ca.crt`)
    expect(await lab.docker('h2', 'ps', '-aq', '--filter', `label=forrest.app=${app}`)).toBe('')

    // pull: never asks no registry and pulls nothing.
    const never = `rcnev${short}`
    const nv = await forrest(['deploy', specFile(never, { ...fast, name: never, image: `${lab.registry}/forrest-test/none-${run.id}:1`, pull: 'never' })], env())
    expect(nv.code, nv.stderr).toBe(EXIT.notFound)
    expect(nv.stderr).toContain('pull: never')
  }, 120_000)

  it('pre-pull over the default engine, h1 (TLS) and h2 (ssh) in parallel: one host failing is named and nothing changes; with trust back all three pull', async () => {
    const pinned = `${repo}@${img.v2.digest}`
    await lab.docker('default', 'pull', '-q', pinned)
    for (const e of ['h1', 'h2'] as const) await dropImage(e, img.v2.id)
    const hosts = [
      { name: 'default', runtime: lab.runtime('default') },
      { name: 'h1', runtime: lab.runtime('h1') },
      { name: 'h2', runtime: lab.runtime('h2-ssh') },
    ]
    const err = await lab.withoutTrust('h2', () => prePull(hosts, pinned, 'missing', lab.auth).catch((e: unknown) => e))
    expect(err).toBeInstanceOf(PrePullFailed)
    const failed = err as PrePullFailed
    expect(failed.failures.map((f) => [f.host, f.error.code])).toEqual([['h2', 'REGISTRY_TLS']])
    expect(failed.exit).toBe(EXIT.registryTls)
    expect(failed.succeeded.sort()).toEqual(['default', 'h1'])
    expect(failed.message).toContain('on h2 (1 of 3 hosts); nothing was changed')
    expect(await lab.runtime('h2').findImage(pinned)).toBeUndefined()
    expect(await lab.runtime('h1').findImage(pinned)).toMatchObject({ id: img.v2.id })
    // No container was made from the image anywhere (other test files use these engines too: only this run's image is asked about).
    expect(await Promise.all((['h1', 'h2'] as const).map((e) => lab.docker(e, 'ps', '-aq', '--filter', `ancestor=${img.v2.id}`)))).toEqual(['', ''])

    // Wrong credentials on a TLS engine: named as such.
    const bad = await prePull([{ name: 'h1', runtime: lab.runtime('h1') }], `${repo}:1`, 'always', { ...lab.auth, password: 'wrong' }).catch((e: unknown) => e)
    expect((bad as PrePullFailed).failures[0]!.error.code).toBe('REGISTRY_AUTH_FAILED')

    const events: string[] = []
    const ok = await prePull(hosts, pinned, 'missing', lab.auth, (e) => e.kind !== 'progress' && events.push(`${e.host}:${e.kind}`))
    expect(ok.hosts.map((h) => [h.host, h.pulled])).toEqual([['default', false], ['h1', false], ['h2', true]])
    expect(await lab.runtime('h2').findImage(pinned)).toMatchObject({ id: img.v2.id })
    expect(events.filter((e) => e.endsWith(':done')).sort()).toEqual(['default:done', 'h1:done', 'h2:done'])
  }, 120_000)

  it('a tag moved mid-rollout: every instance of the revision runs the digest resolved at plan time; the next deploy takes the new one; rollback pulls the old digest, not the tag', async () => {
    const app = `rm${short}`
    for (const i of [img.v1, img.v2]) await lab.docker('default', 'pull', '-q', `${repo}@${i.digest}`)
    await lab.docker('default', 'tag', img.v1.id, `${repo}:m`)
    await lab.docker('default', 'push', '-q', `${repo}:m`)
    // Revision 1 runs v2 by digest, so revision 2 (the tag) is an update: maxSurge 1 starts its
    // 3 containers one wave at a time, 1.5 s apart (soak), and the tag moves between them.
    const given = await forrest(['deploy', specFile(`${app}-pinned`, { ...fast, name: app, replicas: 3, image: `${repo}@${img.v2.digest}` })], env())
    expect(given.code, given.stdout + given.stderr).toBe(0)
    const file = specFile(app, { ...fast, name: app, replicas: 3, image: `${repo}:m`, 'update.maxSurge': 1, 'update.soak': '1500ms' })
    const r2Containers = async () => (await docker('ps', '-aq', '--filter', `label=forrest.app=${app}`, '--filter', 'label=forrest.revision=2')).split('\n').filter(Boolean)
    const deploying = forrest(['deploy', file, '--json'], env())
    // As soon as the first container of revision 2 exists, the tag moves to v2: the rollout is
    // in progress and its other two containers do not exist yet.
    await pollUntil(async () => (await r2Containers()).length > 0, { timeoutMs: 20_000, what: 'first container of revision 2' })
    await lab.docker('default', 'tag', img.v2.id, `${repo}:m`)
    await lab.docker('default', 'push', '-q', `${repo}:m`)
    expect(await lab.runtime('h1').resolveDigest(`${repo}:m`, lab.auth)).toBe(img.v2.digest)
    // Containers are created ahead of their start (#30): "in progress" means fewer than 3 started.
    const r2Started = async () => (await docker('ps', '-q', '--filter', `label=forrest.app=${app}`, '--filter', 'label=forrest.revision=2')).split('\n').filter(Boolean)
    expect((await r2Started()).length).toBeLessThan(3)
    const res = await deploying
    expect(res.code, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({ outcome: 'succeeded', revision: 2, image: { digest: img.v1.digest } })
    const first = Array.from({ length: 3 }, () => ({ image: `${repo}@${img.v1.digest}`, id: img.v1.id }))
    expect(await whatRuns(app)).toEqual(first)
    expect(await bodies(app)).toEqual(['v1', 'v1', 'v1'])

    const next = await forrest(['deploy', file, '--json'], env())
    expect(next.code, next.stderr).toBe(0)
    expect(JSON.parse(next.stdout)).toMatchObject({ outcome: 'succeeded', revision: 3, image: { digest: img.v2.digest } })
    expect(JSON.parse(next.stdout).changes).toContain(`image ${repo}:m now resolves to ${img.v2.id.slice(7, 19)}`)
    expect(await bodies(app)).toEqual(['v2', 'v2', 'v2'])

    await dropImage('default', img.v1.id) // no container runs it now: rollback has to pull it, by digest
    const back = await forrest(['rollback', app, '--json'], env())
    expect(back.code, back.stderr).toBe(0)
    expect(JSON.parse(back.stdout)).toMatchObject({ outcome: 'succeeded', revision: 4 })
    expect(await whatRuns(app)).toEqual(first)
    expect(await bodies(app)).toEqual(['v1', 'v1', 'v1'])
    const hist = JSON.parse((await forrest(['history', app, '--json'], env())).stdout)
    expect(hist.revisions.map((r: { revision: number; digest?: string }) => [r.revision, r.digest])).toEqual([
      [4, img.v1.digest],
      [3, img.v2.digest],
      [2, img.v1.digest],
      [1, img.v2.digest],
    ])
  }, 150_000)

  it('every container this file made carries its label', async () => {
    // At least one, whatever ran before (alone, nothing else has made one).
    const made = await forrest(['deploy', specFile(`lb${short}`, { ...fast, name: `lb${short}`, replicas: 1, image: 'demo/myapp:1' })], env())
    expect(made.code, made.stdout + made.stderr).toBe(0)
    const mine = new Set(await containersWithLabel(run.label))
    // One listing (other test files may be creating and removing containers meanwhile).
    const rows = (await docker('ps', '-a', '--filter', 'label=forrest.app', '--format', '{{.ID}} {{.Label "forrest.app"}}')).split('\n').filter(Boolean)
    const ours = rows.filter((r) => r.endsWith(short)).map((r) => r.split(' ')[0]!)
    expect(ours.length).toBeGreaterThan(0)
    for (const id of ours) expect(mine.has(id)).toBe(true)
  })
})
