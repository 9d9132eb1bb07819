/**
 * #27 per-registry credentials: FORREST_REGISTRY_AUTH_FILE holds several registries' credentials
 * (as the docker CLI's config.json "auths"), and each goes only to the registry it is keyed by.
 * Two loopback fake registries that want Basic auth and write down every Authorization header
 * they get (what forrest handed the engine for them), beside the lab's real registry.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { forrest, testRun } from '../helpers/cli.js'
import { startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { requireLab, type Lab } from '../helpers/lab.js'
import { specFile } from '../helpers/spec-file.js'

const t = testRun('fleet-regauth')
const dir = mkdtempSync(join(tmpdir(), 'forrest-auth-file-'))
const authFile = join(dir, 'auths.json')
const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64')

/** A registry that always wants Basic auth, and keeps every Authorization header it was sent. */
async function collector(): Promise<{ server: Server; address: string; seen: string[] }> {
  const seen: string[] = []
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '')
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="collector"', 'Docker-Distribution-API-Version': 'registry/2.0', 'Content-Type': 'application/json' })
    res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, address: `127.0.0.1:${(server.address() as { port: number }).port}`, seen }
}

describe('FORREST_REGISTRY_AUTH_FILE: several registries, each credential only to its own', () => {
  let lab: Lab
  let etcd: TestEtcd
  let a: Awaited<ReturnType<typeof collector>>
  let b: Awaited<ReturnType<typeof collector>>
  let env: NodeJS.ProcessEnv

  beforeAll(async () => {
    lab = await requireLab()
    etcd = await startEtcd()
    ;[a, b] = await Promise.all([collector(), collector()])
    // The lab's registry and fake registry A have entries; B has none.
    writeFileSync(authFile, JSON.stringify({ auths: { [lab.registry]: { auth: basic(lab.user, lab.password) }, [`http://${a.address}`]: { username: 'a-user', password: 'a-pass' } } }))
    // No docker config and no FORREST_REGISTRY_USER: the file is the only source.
    env = { ...t.env(etcd.endpoint), DOCKER_CONFIG: mkdtempSync(join(dir, 'noconfig-')), FORREST_REGISTRY_AUTH_FILE: authFile }
  }, 60_000)

  afterAll(async () => {
    for (const c of [a, b]) await new Promise<void>((resolve) => (c ? c.server.close(() => resolve()) : resolve()))
    await etcd?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("the lab registry gets its entry: diff of the lab image resolves (exit 0)", async () => {
    const file = specFile(`${t.id}-lab`, { name: `fleet-r${t.id.slice(-6)}`, replicas: 1, image: `${lab.registry}/demo/myapp:1` })
    const res = await forrest(['diff', file], env)
    expect(res.code, res.stdout + res.stderr).toBe(0)
  })

  it("registry A is sent A's entry and nothing else; it refuses it (exit 16)", async () => {
    const file = specFile(`${t.id}-a`, { name: `fleet-a${t.id.slice(-6)}`, replicas: 1, image: `${a.address}/team/app:1` })
    a.seen.length = 0
    const res = await forrest(['diff', file], env)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.registryAuth)
    const sent = a.seen.filter(Boolean)
    expect(sent.length).toBeGreaterThan(0)
    expect(new Set(sent)).toEqual(new Set([`Basic ${basic('a-user', 'a-pass')}`]))
    expect(res.stdout + res.stderr).not.toContain('a-pass')
  })

  it('registry B, with no entry, sees no Authorization header at all (exit 16, found none)', async () => {
    const file = specFile(`${t.id}-b`, { name: `fleet-b${t.id.slice(-6)}`, replicas: 1, image: `${b.address}/team/app:1` })
    b.seen.length = 0
    const res = await forrest(['diff', file], env)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.registryAuth)
    expect(res.stderr).toContain('the registry wants credentials and forrest found none')
    expect(b.seen.length).toBeGreaterThan(0)
    expect(b.seen.filter(Boolean)).toEqual([])
    expect(readFileSync(authFile, 'utf8')).toContain('a-user') // the file itself is left as it was
  })

  it('an unreadable or malformed file is bad input (exit 2) naming the file', async () => {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, '{"auth": {}}')
    const file = specFile(`${t.id}-bad`, { name: `fleet-x${t.id.slice(-6)}`, replicas: 1, image: `${b.address}/team/app:1` })
    for (const f of [bad, join(dir, 'missing.json')]) {
      const res = await forrest(['diff', file], { ...env, FORREST_REGISTRY_AUTH_FILE: f })
      expect(res.code, res.stdout + res.stderr).toBe(EXIT.badInput)
      expect(res.stderr).toContain(`FORREST_REGISTRY_AUTH_FILE ${f}`)
    }
  })
})
