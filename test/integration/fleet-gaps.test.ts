/**
 * #27 follow-up on the lab's h1 and h2 (mutual TLS), with an etcd of its own (a drain walks every
 * app of its records root): a drain that meets an uncordon made while it ran stops before the next
 * app and never marks the host drained; the release command and `forrest run` go to a host in
 * service (h1 cordoned: h2), and with none in service are refused (NO_ROOM, exit 22) with nothing
 * started; for CI, `host ls --json` says inService per host and `status --json` always has hosts;
 * one inventory rule for deploy and launch/stop (a flag, FORREST_INVENTORY, beside the file,
 * ./forrest.hosts.yml). Needs scripts/lab/up.sh: fails, never skips, without it.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { stringify } from 'yaml'
import type { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { createEtcdClient } from '../../src/registry/client.js'
import { forrest, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { requireLab, type Lab } from '../helpers/lab.js'
import { specFile } from '../helpers/spec-file.js'

const t = testRun('gaps')
const suffix = t.id.slice(-6)
// Drained in name order: A first, then B.
const A = `gaps-a${suffix}`
const B = `gaps-b${suffix}`

describe('fleet gaps: host state changed during a drain; one-off containers on a host in service', () => {
  let lab: Lab
  let etcd: TestEtcd
  let client: Etcd3
  let env: NodeJS.ProcessEnv

  const hosts = () => [
    { name: 'h1', docker: 'tcp://10.213.0.11:2376', address: '10.213.0.11', tls: { certPath: lab.certPath } },
    { name: 'h2', docker: 'tcp://10.213.0.12:2376', address: '10.213.0.12', tls: { certPath: lab.certPath } },
  ]
  const spec = (app: string, tag: string, more: Record<string, unknown> = {}) =>
    specFile(`${app}-${tag}`, { hosts: hosts(), name: app, replicas: 2, image: `${lab.registry}/demo/myapp:${tag}`, 'announce.prefix': `${t.prefix}-${app}`, 'health.interval': '100ms', 'health.deadline': '15s', 'update.drain': '200ms', 'update.stopGracePeriod': '2s', ...more })
  /** Where each app's instances are, by its records: host → count. */
  const placed = async (app: string) => {
    const recs = Object.values(await client.getAll().prefix(`/forrest/apps/${app}/instances/`).strings()).map((v) => JSON.parse(v) as { host: string })
    const out: Record<string, number> = {}
    for (const r of recs) out[r.host] = (out[r.host] ?? 0) + 1
    return out
  }
  /** The built CLI run from another directory (forrest() runs it from the repository). */
  const forrestIn = (cwd: string, args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      const child = spawn(process.execPath, [resolve('bin/run.js'), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }))
    })
  const hostKeys = async () => client.getAll().prefix('/forrest/hosts/').strings()
  const ok = async (args: string[], timeout = 180_000) => {
    const res = await forrest(args, env, timeout)
    expect(res.code, `forrest ${args.join(' ')}\n${res.stdout}${res.stderr}`).toBe(0)
    return res
  }

  beforeAll(async () => {
    lab = await requireLab()
    etcd = await startEtcd()
    client = createEtcdClient([etcd.endpoint], { callTimeoutMs: 3000 })
    env = { ...t.env(etcd.endpoint), DOCKER_HOST: '', DOCKER_CONFIG: lab.dockerConfig }
    await ok(['deploy', spec(A, '1')])
    await ok(['deploy', spec(B, '1')])
  }, 300_000)

  afterAll(async () => {
    for (const h of ['h1', 'h2'] as const) {
      const ids = await lab?.docker(h, 'ps', '-aq', '--filter', `label=${t.label}`).catch(() => '')
      if (ids) await lab.docker(h, 'rm', '-f', ...ids.split('\n'))
    }
    client?.close()
    await etcd?.stop()
  }, 120_000)

  it('an uncordon while a drain of two apps runs stops it before the second app (exit 9); h1 stays active, never drained', async () => {
    expect(await placed(A)).toEqual({ h1: 1, h2: 1 })
    expect(await placed(B)).toEqual({ h1: 1, h2: 1 })
    // The test holds B's lock (as a live deploy of B would), so the drain moves A, then waits for B.
    const lockKey = `/forrest/locks/${B}`
    await client.put(lockKey).value(JSON.stringify({ actor: 'test', host: hostname(), pid: process.pid, since: new Date().toISOString(), command: 'deploy (test)' }))
    const drain = forrest(['host', 'drain', 'h1', '--wait-lock=2m', '--json'], env, 240_000)
    try {
      await pollUntil(async () => JSON.stringify(await placed(A)) === JSON.stringify({ h2: 2 }), { timeoutMs: 120_000, intervalMs: 200, what: `${A} moved off h1 by the drain` })
      expect((await ok(['host', 'uncordon', 'h1'])).stdout).toMatch(/host h1: draining → active/)
    } finally {
      await client.delete().key(lockKey)
    }
    const res = await drain
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.conflict)
    const err = JSON.parse(res.stdout).error
    expect(err.code).toBe('HOST_CHANGED')
    expect(err.message).toMatch(new RegExp(`drain h1 stopped before ${B}, which was not touched: h1 was changed while the drain ran and is now active; moved so far: ${A}; h1 was left active, not marked drained`))
    expect(err.suggestion).toMatch(/h1 is in service again/)
    // The uncordon stands (no drained mark written over it) and B was not moved.
    expect(await hostKeys()).toEqual({})
    expect(await placed(B)).toEqual({ h1: 1, h2: 1 })
    const ls = JSON.parse((await ok(['host', 'ls', '--json'])).stdout)
    expect(ls.hosts.find((h: { name: string }) => h.name === 'h1')).toMatchObject({ availability: 'active', instances: { [B]: 1 } })
  }, 400_000)

  it('h1 cordoned: the release command and forrest run go to h2 and say so; every host out of service: refused, exit 22, nothing started', async () => {
    await ok(['host', 'uncordon', 'h1']) // whatever the test before left
    expect((await ok(['host', 'cordon', 'h1'])).stdout).toMatch(/host h1: active → cordoned/)
    const release = { command: ['/bin/sh', '-c', 'echo migrated on $(hostname)'] }
    const v2 = await ok(['deploy', spec(B, '2', { release }), '--json'])
    const result = JSON.parse(v2.stdout)
    expect(result.release).toMatchObject({ host: 'h2', exitCode: 0 })
    expect(await placed(B)).toEqual({ h2: 2 })

    const run = await forrest(['run', B, '--', '/bin/sh', '-c', 'echo one-off'], env)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toBe('one-off\n')
    expect(run.stderr).toContain(`forrest run ${B}: revision 2 on h2 (passed over: h1 cordoned)`)

    // Both out of service: nothing to run on.
    await ok(['host', 'cordon', 'h2'])
    const before = (await lab.docker('h1', 'ps', '-aq', '--filter', `label=${t.label}`)) + (await lab.docker('h2', 'ps', '-aq', '--filter', `label=${t.label}`))
    const none = await forrest(['run', B, '--', '/bin/true'], env)
    expect(none.code, none.stderr).toBe(EXIT.noRoom)
    expect(none.stderr).toContain(`forrest run ${B}: no host of ${B} is in service to run it on (h1 cordoned, h2 cordoned); nothing was started`)
    expect(none.stderr).toContain('forrest host uncordon NAME')
    const after = (await lab.docker('h1', 'ps', '-aq', '--filter', `label=${t.label}`)) + (await lab.docker('h2', 'ps', '-aq', '--filter', `label=${t.label}`))
    expect(after).toBe(before)
    await ok(['host', 'uncordon', 'h1'])
    await ok(['host', 'uncordon', 'h2'])
  }, 400_000)

  it('for CI: host ls --json says inService per host; status --json always has hosts (the ones not in service, [] when none)', async () => {
    const statusHosts = async () => JSON.parse((await forrest(['status', '--json'], env)).stdout).hosts
    const lsRows = async () => Object.fromEntries(JSON.parse((await ok(['host', 'ls', '--json'])).stdout).hosts.map((h: { name: string; availability: string; inService: boolean }) => [h.name, { availability: h.availability, inService: h.inService }]))
    expect(await statusHosts()).toEqual([])
    expect(await lsRows()).toEqual({ h1: { availability: 'active', inService: true }, h2: { availability: 'active', inService: true } })
    await ok(['host', 'cordon', 'h1'])
    try {
      expect(await statusHosts()).toEqual([{ name: 'h1', availability: 'cordoned', since: expect.any(String), by: expect.any(String) }])
      expect(await lsRows()).toEqual({ h1: { availability: 'cordoned', inService: false }, h2: { availability: 'active', inService: true } })
    } finally {
      await ok(['host', 'uncordon', 'h1'])
    }
  }, 120_000)

  it('one inventory rule: deploy finds ./forrest.hosts.yml when none is beside its file; stop takes --inventory like deploy', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gaps-cwd-'))
    const elsewhere = mkdtempSync(join(tmpdir(), 'gaps-files-'))
    const inventory = join(cwd, 'forrest.hosts.yml')
    writeFileSync(inventory, stringify({ hosts: hosts() }))
    const file = join(elsewhere, `${B}.yml`)
    writeFileSync(file, readFileSync(spec(B, '2'), 'utf8').replace(/^hosts:[\s\S]*?(?=^\S)/m, 'hosts: inventory\n'))
    expect(readFileSync(file, 'utf8')).toMatch(/^hosts: inventory$/m)
    const dry = await forrestIn(cwd, ['deploy', file, '--dry-run', '--json'])
    expect(dry.code, dry.stdout + dry.stderr).toBe(0)
    expect(JSON.parse(dry.stdout).outcome).toBe('dry-run')
    // stop --host with --inventory (launch and stop's --hosts-file under deploy's name): h2 is found there (not exit 2), the container is not.
    const stop = await forrest(['stop', `${B}-nothing`, '--host', 'h2', '--inventory', inventory], env)
    expect(stop.code, stop.stdout + stop.stderr).toBe(EXIT.notFound)
    expect(stop.stderr).toContain(`no container named "${B}-nothing"`)
    rmSync(cwd, { recursive: true, force: true })
    rmSync(elsewhere, { recursive: true, force: true })
  }, 120_000)
})
