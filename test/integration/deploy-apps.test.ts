/**
 * #27 several apps: `forrest deploy DIR` deploys each app in the order its files declare
 * (dependsOn), each under its own lock, and stops at the first failure with a summary; a set that
 * cannot be ordered (cycle, two files with one app, a dependsOn naming no file) is exit 2 with
 * nothing changed. Real dockerd and etcd.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Etcd3 } from 'etcd3'
import { stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, removeByLabel, testRun } from '../helpers/cli.js'
import { startEtcd, type TestEtcd } from '../helpers/etcd.js'

const run = testRun('fleet-apps')
const short = run.id.slice(-6)
const apps = { db: `fleet-db-${short}`, web: `fleet-web-${short}`, tail: `fleet-tail-${short}` }
let etcd: TestEtcd
let client: Etcd3
let env: NodeJS.ProcessEnv
const dirs: string[] = []

beforeAll(async () => {
  etcd = await startEtcd()
  client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
  env = run.env(etcd.endpoint)
})

afterAll(async () => {
  await removeByLabel(run.label)
  client?.close()
  await etcd?.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** One app's file: small and fast, on its own prefix. */
const spec = (name: string, image: string, extra: Record<string, unknown> = {}) => ({
  name,
  image,
  replicas: 1,
  port: 8080,
  announce: { prefix: `${run.prefix}/${name}` },
  health: { type: 'http', path: '/', interval: '100ms', deadline: '3s' },
  update: { drain: '100ms', stopGracePeriod: '5s' },
  ...extra,
})

/** A directory of deployment files; names chosen so the sorted order is not the dependency order. */
function dirWith(files: Record<string, object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'forrest-fleet-apps-'))
  dirs.push(dir)
  for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, f), stringify(content))
  return dir
}

const current = async (app: string) => JSON.parse((await client.get(`/forrest/apps/${app}/current`).string()) ?? 'null')?.revision as number | undefined
const state = async () => ({
  keys: await client.getAll().prefix(`/${run.prefix}/`).strings(),
  containers: (await docker('ps', '-a', '--filter', `label=${run.label}`, '--format', '{{.Names}} {{.ID}} {{.State}}')).split('\n').filter(Boolean).sort(),
  current: { db: await current(apps.db), web: await current(apps.web), tail: await current(apps.tail) },
})

describe('forrest deploy DIR: several apps in their declared order', () => {
  it('deploys every app, dependencies first, each under its own lock', async () => {
    const dir = dirWith({
      'a-web.yml': spec(apps.web, 'demo/myapp:1', { dependsOn: [apps.db] }),
      'b-tail.yml': spec(apps.tail, 'demo/myapp:1', { dependsOn: [apps.web] }),
      'c-db.yml': spec(apps.db, 'demo/myapp:1'),
    })
    const res = await forrest(['deploy', dir, '--json'], env)
    expect(res.code, res.stderr).toBe(0)
    const out = JSON.parse(res.stdout)
    expect(out.outcome).toBe('succeeded')
    expect(out.order).toEqual([apps.db, apps.web, apps.tail])
    expect(out.apps.map((a: { app: string; status: string }) => [a.app, a.status])).toEqual([
      [apps.db, 'deployed'],
      [apps.web, 'deployed'],
      [apps.tail, 'deployed'],
    ])
    expect((await state()).current).toEqual({ db: 1, web: 1, tail: 1 })
    // Each app took its own lock: the rollouts ran one after the other, in that order.
    const started = out.apps.map((a: { result: { timings: { steps: Array<{ at: number }> } } }) => a.result.timings.steps[0]!.at)
    expect([...started].sort((x: number, y: number) => x - y)).toEqual(started)
  }, 120_000)

  it('status with no app: every app one row of one table, --json every app', async () => {
    const res = await forrest(['status'], env)
    expect(res.code, res.stdout + res.stderr).toBe(0)
    const rows = res.stdout.split('\n').filter((l) => l.startsWith('│')).map((l) => l.split('│').slice(1, -1).map((c) => c.trim()))
    expect(rows[0], res.stdout).toEqual(['APP', 'REV', 'IMAGE', 'DESIRED', 'HEALTHY', 'REGISTERED', 'RUNNING', 'HOSTS', 'PREFIX', 'STATE'])
    expect(rows.slice(1), res.stdout).toEqual([apps.db, apps.tail, apps.web].map((app) => [app, '1', 'demo/myapp:1', '1', '1', '1', '1', 'local', `${run.prefix}/${app}`, 'OK']))
    // One table: no per-instance tables in the overview.
    expect(res.stdout).not.toContain('INSTANCE')
    const json = JSON.parse((await forrest(['status', '--json'], env)).stdout)
    expect(json.converged).toBe(true)
    expect(json.apps.map((a: { app: string }) => a.app).sort()).toEqual(Object.values(apps).sort())
  }, 60_000)

  it('--dry-run plans every app in order and changes nothing', async () => {
    const before = await state()
    const dir = dirWith({
      'a-web.yml': spec(apps.web, 'demo/myapp:2', { dependsOn: [apps.db] }),
      'c-db.yml': spec(apps.db, 'demo/myapp:2'),
    })
    const res = await forrest(['deploy', dir, '--dry-run', '--json'], env)
    expect(res.code, res.stderr).toBe(0)
    const out = JSON.parse(res.stdout)
    expect(out.outcome).toBe('dry-run')
    expect(out.apps.map((a: { app: string; status: string; result: { outcome: string } }) => [a.app, a.status, a.result.outcome])).toEqual([
      [apps.db, 'planned', 'dry-run'],
      [apps.web, 'planned', 'dry-run'],
    ])
    expect(await state()).toEqual(before)
  }, 60_000)

  it('stops at the first failure: the one before deployed, the failing one rolled back, the rest not attempted; its exit code', async () => {
    const dir = dirWith({
      'a-web.yml': spec(apps.web, 'demo/myapp:bad', { dependsOn: [apps.db], health: { type: 'http', path: '/', interval: '100ms', deadline: '2s' } }),
      'b-tail.yml': spec(apps.tail, 'demo/myapp:2', { dependsOn: [apps.web] }),
      'c-db.yml': spec(apps.db, 'demo/myapp:2'),
    })
    const res = await forrest(['deploy', dir], env)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
    expect(res.stderr).toContain(`deploy of 3 apps stopped at ${apps.web} (${join(dir, 'a-web.yml')}, exit 3):`)
    expect(res.stderr).toContain(`  deployed: ${apps.db} (revision 2)`)
    expect(res.stderr).toContain(`  failed: ${apps.web} (ROLLED_BACK)`)
    expect(res.stderr).toContain(`  not attempted: ${apps.tail}`)
    expect(res.stderr).toContain(`rolled back to revision 1`)
    expect((await state()).current).toEqual({ db: 2, web: 1, tail: 1 })

    // The same with --json: the result covers every app, and the exit code is still the failing app's.
    const json = await forrest(['deploy', join(dir, 'c-db.yml'), join(dir, 'a-web.yml'), join(dir, 'b-tail.yml'), '--json'], env)
    expect(json.code, json.stderr).toBe(EXIT.rolledBack)
    const err = JSON.parse(json.stdout).error
    expect(err.code).toBe('ROLLED_BACK')
    expect(err.detail.apps.map((a: { app: string; status: string }) => [a.app, a.status])).toEqual([
      [apps.db, 'unchanged'],
      [apps.web, 'failed'],
      [apps.tail, 'not attempted'],
    ])
    expect((await state()).current).toEqual({ db: 2, web: 1, tail: 1 })
  }, 120_000)

  const refused = async (files: Record<string, object>, expected: RegExp[]) => {
    const before = await state()
    const dir = dirWith(files)
    const res = await forrest(['deploy', dir], env)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.badInput)
    for (const e of expected) expect(res.stderr.replaceAll(dir, 'DIR')).toMatch(e)
    expect(res.stderr).toContain('nothing was changed')
    expect(await state()).toEqual(before)
  }

  it('a cycle in dependsOn: exit 2 naming the files, nothing changed', async () => {
    await refused(
      {
        'c-db.yml': spec(apps.db, 'demo/myapp:1', { dependsOn: [apps.tail] }),
        'a-web.yml': spec(apps.web, 'demo/myapp:1', { dependsOn: [apps.db] }),
        'b-tail.yml': spec(apps.tail, 'demo/myapp:1', { dependsOn: [apps.web] }),
      },
      [/dependsOn forms a cycle .* → .* \(DIR\/.*\.yml, DIR\/.*\.yml, DIR\/.*\.yml\): remove one of these dependsOn entries/],
    )
  })

  it('two files with one app name, or a dependsOn naming no file: exit 2 naming the files, nothing changed', async () => {
    await refused(
      { 'c-db.yml': spec(apps.db, 'demo/myapp:1'), 'd-db.yml': spec(apps.db, 'demo/myapp:2'), 'a-web.yml': spec(apps.web, 'demo/myapp:2', { dependsOn: ['fleet-nowhere'] }) },
      [
        new RegExp(`app "${apps.db}" is named by 2 files \\(DIR/c-db.yml, DIR/d-db.yml\\): give each app one file`),
        /DIR\/a-web.yml: dependsOn: "fleet-nowhere" names no app among the files given/,
      ],
    )
  })

  it('an invalid file among valid ones: exit 2, nothing changed, the app before it not deployed', async () => {
    await refused({ 'c-db.yml': spec(apps.db, 'demo/myapp:1'), 'a-web.yml': { ...spec(apps.web, 'demo/myapp:1'), replicas: -1 } }, [/DIR\/a-web.yml:\d+:\d+ replicas/])
  })
})
