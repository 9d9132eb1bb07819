/**
 * bench/hosts.sh is self-contained (#30): it runs on a machine whose docker CLI is not logged in
 * to the lab registry (a HOME with no ~/.docker, no DOCKER_CONFIG), while the dev stack is up.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireLab } from '../helpers/lab.js'

const execFileP = promisify(execFile)

describe('bench/hosts.sh', () => {
  const home = mkdtempSync(join(tmpdir(), 'speed-home-'))
  beforeAll(async () => {
    await requireLab()
  })
  afterAll(() => rmSync(home, { recursive: true, force: true }))

  it('rolls a tiny fleet with no docker login anywhere and prints one row per run and host set', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, N: '2', RUNS: '1', SETS: 'h1 h1+h2', BUILDS: 'after' }
    delete env.DOCKER_CONFIG
    delete env.FORREST_REGISTRY_SERVER
    delete env.FORREST_REGISTRY_USER
    delete env.FORREST_REGISTRY_PASSWORD
    delete env.FORREST_REGISTRY_PASSWORD_FILE
    const out = await execFileP('bash', ['bench/hosts.sh'], { env, timeout: 170_000 }).catch((err: { code: number; stdout: string; stderr: string }) => err)
    expect(out.stderr).not.toMatch(/REGISTRY_AUTH_FAILED|no basic auth credentials/)
    expect('code' in out ? out.code : 0).toBe(0)
    const rows = out.stdout.split('\n').filter((l) => /^\d+ /.test(l))
    expect(rows.map((r) => r.split(' ').slice(0, 3).join(' '))).toEqual(['1 after h1', '1 after h1+h2'])
  }, 180_000)
})
