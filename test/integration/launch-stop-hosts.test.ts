/**
 * #27 every command on every host: `forrest launch --host h2` and `forrest stop --host h2` on the
 * lab's h2 (mutual TLS), the host described by a deployment file's hosts: list. The container runs
 * on h2 (not the local engine), is announced at h2's address and answers there; stop withdraws the
 * key and removes it on h2. Without --host, stop looks on the local engine and touches nothing.
 * Needs scripts/lab/up.sh: fails, never skips, without it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Etcd3 } from 'etcd3'
import { stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, httpGet, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { requireLab, type Lab } from '../helpers/lab.js'

const run = testRun('fleet-host')
const name = `fleet-l-${run.id.slice(-6)}`
const dir = mkdtempSync(join(tmpdir(), 'forrest-launch-host-'))
const hostsFile = join(dir, 'app.yml')

describe('forrest launch / stop --host (lab h2)', () => {
  let lab: Lab
  let etcd: TestEtcd
  let client: Etcd3
  let env: NodeJS.ProcessEnv
  const onH2 = async () => (await lab.docker('h2', 'ps', '-a', '-q', '--filter', `label=${run.label}`)).split('\n').filter(Boolean)

  beforeAll(async () => {
    lab = await requireLab()
    etcd = await startEtcd()
    client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
    env = run.env(etcd.endpoint)
    // launch never pulls (it says so): the image must be on h2 already, as on a fresh machine it is not.
    await lab.docker('h2', 'pull', '-q', `${lab.registry}/demo/myapp:1`)
    // A deployment file: only its hosts: list is read.
    writeFileSync(
      hostsFile,
      stringify({
        name: 'fleet-some-app',
        image: `${lab.registry}/demo/myapp:1`,
        hosts: [
          { name: 'h1', docker: 'tcp://10.213.0.11:2376', address: '10.213.0.11', tls: { certPath: lab.certPath } },
          { name: 'h2', docker: 'tcp://10.213.0.12:2376', address: '10.213.0.12', tls: { certPath: lab.certPath } },
        ],
      }),
    )
  }, 60_000)

  afterAll(async () => {
    const left = lab ? await onH2().catch(() => []) : []
    if (left.length) await lab.docker('h2', 'rm', '-f', ...left)
    client?.close()
    await etcd?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('launch --host h2 runs and announces it on h2; stop without --host leaves it; stop --host h2 withdraws and removes it there', async () => {
    const launched = await forrest(['launch', `${lab.registry}/demo/myapp:1`, '--name', name, '--host', 'h2', '--hosts-file', hostsFile, '--json'], env)
    expect(launched.code, launched.stderr).toBe(0)
    const result = JSON.parse(launched.stdout)
    expect(result.host).toBe('h2')
    expect(result.address).toMatch(/^10\.213\.0\.12:\d+$/)
    const key = `/${run.prefix}/${name}`
    expect(await client.get(key).string()).toBe(result.address)
    expect(await onH2()).toHaveLength(1)
    expect(await docker('ps', '-aq', '--filter', `name=^${name}$`)).toBe('')
    await pollUntil(async () => (await httpGet(result.address).catch(() => ({ body: '' }))).body === 'v1', { timeoutMs: 10_000, what: `${name} answering on h2` })

    // Without --host, stop looks on the local engine: not found there, nothing withdrawn.
    const local = await forrest(['stop', name], env)
    expect(local.code, local.stdout + local.stderr).toBe(EXIT.notFound)
    expect(await client.get(key).string()).toBe(result.address)
    expect(await onH2()).toHaveLength(1)

    const stopped = await forrest(['stop', name, '--host', 'h2', '--hosts-file', hostsFile, '--drain', '100ms', '--grace', '2'], env)
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(0)
    expect(stopped.stdout).toContain('Stopped.')
    expect(await client.get(key).string()).toBeNull()
    expect(await onH2()).toEqual([])
  }, 120_000)

  it('without --hosts-file, the shared inventory ($FORREST_INVENTORY) describes --host', async () => {
    const inventory = join(dir, 'forrest.hosts.yml')
    writeFileSync(inventory, stringify({ hosts: [{ name: 'h2', docker: 'tcp://10.213.0.12:2376', address: '10.213.0.12', tls: { certPath: lab.certPath } }] }))
    const inv = { ...env, FORREST_INVENTORY: inventory }
    const launched = await forrest(['launch', `${lab.registry}/demo/myapp:1`, '--name', `${name}-inv`, '--host', 'h2', '--json'], inv)
    expect(launched.code, launched.stderr).toBe(0)
    expect(JSON.parse(launched.stdout).address).toMatch(/^10\.213\.0\.12:\d+$/)
    expect(await onH2()).toHaveLength(1)
    const stopped = await forrest(['stop', `${name}-inv`, '--host', 'h2', '--drain', '100ms', '--grace', '2'], inv)
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(0)
    expect(await onH2()).toEqual([])
  }, 120_000)

  it('a host the file does not name, or --host without a file: exit 2, nothing started', async () => {
    const unknown = await forrest(['launch', `${lab.registry}/demo/myapp:1`, '--host', 'h9', '--hosts-file', hostsFile], env)
    expect(unknown.code, unknown.stderr).toBe(EXIT.badInput)
    expect(unknown.stderr).toContain(`no host "h9" in ${hostsFile} (it lists h1, h2); nothing was changed`)
    const noFile = await forrest(['stop', 'whatever', '--host', 'h2'], { ...env, FORREST_INVENTORY: '' })
    expect(noFile.code, noFile.stderr).toBe(EXIT.badInput)
    expect(noFile.stderr).toContain('--host h2: where is it? Pass --hosts-file FILE')
    expect(await onH2()).toEqual([])
    expect(await client.getAll().prefix(`/${run.prefix}/`).keys()).toEqual([])
  })
})
