import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeByLabel, testRun } from '../helpers/cli.js'
import { startEtcd, type TestEtcd } from '../helpers/etcd.js'

const execFileP = promisify(execFile)

/**
 * What a user gets from the package: `npm pack`, installed globally into a clean prefix (from
 * the npm cache when it can), gives a `forrest` that works from anywhere, runs from its bundle
 * (dist/forrest.cjs, built by prepack) and finds its example deployment file.
 */
const run = testRun('pack')
let dir: string
let etcd: TestEtcd
let bin: string
let pkgDir: string
/** The bundle must be what runs (FORREST_BUNDLE=1 fails rather than fall back to dist/); its code cache goes to the temp dir. */
const cliEnv = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, FORREST_BUNDLE: '1', FORREST_CACHE_DIR: join(dir, 'cache'), ...extra })

async function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) }
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forrest-pack-'))
  etcd = await startEtcd()
  // prepack builds (tsc and the bundle) first.
  const pack = await sh('npm', ['pack', '--json', '--pack-destination', dir], { timeoutMs: 180_000 })
  expect(pack.code, pack.stderr).toBe(0)
  // Anything a lifecycle script prints comes before npm's JSON.
  const tgz = join(dir, (JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as Array<{ filename: string }>)[0]!.filename)
  const prefix = join(dir, 'prefix')
  // --prefer-offline: dependencies come from the npm cache when they are there.
  const install = await sh('npm', ['install', '-g', '--prefix', prefix, tgz, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, timeoutMs: 240_000 })
  expect(install.code, install.stderr).toBe(0)
  bin = join(prefix, 'bin', 'forrest')
  pkgDir = join(prefix, 'lib', 'node_modules', 'forrest')
}, 300_000)

afterAll(async () => {
  await removeByLabel(run.label)
  await etcd?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('the npm package, installed globally into a clean prefix', () => {
  it('forrest --help lists every command', async () => {
    const res = await sh(bin, ['--help'], { cwd: dir, env: cliEnv() })
    expect(res.code, res.stderr).toBe(0)
    expect(existsSync(join(pkgDir, 'dist', 'forrest.cjs'))).toBe(true)
    const completion = await sh(bin, ['completion', 'bash'], { cwd: dir, env: cliEnv() })
    expect(completion.stdout).toContain('complete -o filenames -F _forrest forrest')
    for (const cmd of ['deploy', 'diff', 'scale', 'rollback', 'status', 'history', 'logs', 'render', 'gateway', 'launch', 'stop']) expect(res.stdout).toMatch(new RegExp(`^\\s+${cmd}\\s`, 'm'))
  })

  it('forrest deploy --dry-run plans its own example file against etcd and Docker, from any directory', async () => {
    const file = join(pkgDir, 'deployments', 'myapp.yml')
    const res = await sh(bin, ['deploy', file, '--dry-run', '--json'], { cwd: dir, env: cliEnv(run.env(etcd.endpoint)) })
    expect(res.code, res.stderr + res.stdout).toBe(0)
    const result = JSON.parse(res.stdout)
    expect(result).toMatchObject({ app: 'myapp', outcome: 'dry-run', revision: 1 })
    expect(result.plan.waves.flatMap((w: { starts: unknown[] }) => w.starts)).toHaveLength(3)
    // Twice more: the first run wrote the code cache for deploy, the next one reads it.
    const human = await sh(bin, ['deploy', file, '--dry-run'], { cwd: dir, env: cliEnv(run.env(etcd.endpoint)) })
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toContain('Plan for myapp (dry run, nothing changed)')
    expect(readdirSync(join(dir, 'cache')).some((f) => f.endsWith('-deploy.bin'))).toBe(true)
    const again = await sh(bin, ['deploy', file, '--dry-run', '--json'], { cwd: dir, env: cliEnv(run.env(etcd.endpoint)) })
    expect(JSON.parse(again.stdout)).toMatchObject({ app: 'myapp', outcome: 'dry-run' })
  })
})
