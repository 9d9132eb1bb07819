import { mkdtempSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, httpGet, removeByLabel, testRun } from '../helpers/cli.js'
import { startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { specFile } from '../helpers/spec-file.js'

/** hooks: local commands with the deploy's facts in FORREST_* variables; a failing preDeploy stops the deploy. */
const run = testRun('hooks')
const app = `h${run.id.slice(-6)}`
const out = mkdtempSync(join(tmpdir(), 'forrest-hooks-'))
let etcd: TestEtcd
let client: Etcd3
let env: NodeJS.ProcessEnv

/** Records its FORREST_* environment and its result file under $HOOK_OUT/<hook>.*, says hello on stdout, exits $1. */
const recorder = (exit = 0) => ['/bin/sh', '-c', `env | grep ^FORREST_ | sort > "$HOOK_OUT/$FORREST_HOOK.env"; [ -n "$FORREST_RESULT" ] && cp "$FORREST_RESULT" "$HOOK_OUT/$FORREST_HOOK.json"; echo "hook $FORREST_HOOK says hello"; exit ${exit}`]
const fast = { name: app, replicas: 2, 'health.interval': '100ms', 'health.deadline': '3s', 'update.drain': '200ms', 'update.stopGracePeriod': '2s' }
const hookEnv = (hook: string) => Object.fromEntries(readFileSync(join(out, `${hook}.env`), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
const hookJson = (hook: string) => JSON.parse(readFileSync(join(out, `${hook}.json`), 'utf8'))
const bodies = async () => Promise.all(Object.values(await client.getAll().prefix(`/${run.prefix}/`).strings()).map(async (a) => (await httpGet(a)).body))
const containers = async () => (await docker('ps', '-a', '--filter', `label=forrest.app=${app}`, '--format', '{{.Names}}')).split('\n').filter(Boolean).sort()

beforeAll(async () => {
  etcd = await startEtcd()
  client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
  env = run.env(etcd.endpoint, { HOOK_OUT: out })
})

afterAll(async () => {
  await removeByLabel(run.label)
  client?.close()
  await etcd?.stop()
})

describe('deploy hooks', () => {
  it('preDeploy and postDeploy run with the app, image, revision, outcome, exit code and result file, without forrest\'s own credentials; their output stays off --json stdout', async () => {
    const spec = specFile(`${app}-v1`, { ...fast, image: 'demo/myapp:1', hooks: { preDeploy: recorder(), postDeploy: recorder(), onFailure: recorder() } })
    // forrest's own credentials are in the job's environment but never in a hook's.
    const res = await forrest(['deploy', spec, '--json'], { ...env, FORREST_SECRET_KEY: `hook-key-${run.id}` })
    expect(res.code, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({ outcome: 'succeeded', revision: 1 })
    expect(hookEnv('pre-deploy')).not.toHaveProperty('FORREST_SECRET_KEY')
    expect(hookEnv('post-deploy')).not.toHaveProperty('FORREST_SECRET_KEY')
    expect(res.stderr).toContain('hook pre-deploy says hello')
    expect(res.stderr).toContain('hook post-deploy says hello')
    expect(hookEnv('pre-deploy')).toMatchObject({ FORREST_APP: app, FORREST_HOOK: 'pre-deploy', FORREST_IMAGE: 'demo/myapp:1', FORREST_IMAGE_ID: expect.stringMatching(/^sha256:/), FORREST_RESULT: '' })
    expect(hookEnv('post-deploy')).toMatchObject({ FORREST_APP: app, FORREST_HOOK: 'post-deploy', FORREST_REVISION: '1', FORREST_OUTCOME: 'succeeded', FORREST_EXIT_CODE: '0' })
    expect(hookJson('post-deploy')).toMatchObject({ app, outcome: 'succeeded', revision: 1 })
    expect(existsSync(join(out, 'on-failure.env'))).toBe(false)
  })

  it('a failing preDeploy stops the deploy with exit 21 before anything changes', async () => {
    const before = await containers()
    const spec = specFile(`${app}-v2-gated`, { ...fast, image: 'demo/myapp:2', hooks: { preDeploy: recorder(1), onFailure: recorder() } })
    const res = await forrest(['deploy', spec], env)
    expect(res.code, res.stderr).toBe(EXIT.hookFailed)
    expect(res.stderr).toContain('hooks.preDeploy')
    expect(res.stderr).toContain('exited 1: the deploy of')
    expect(res.stderr).toContain('stopped before anything changed')
    expect(await containers()).toEqual(before)
    expect(await bodies()).toEqual(['v1', 'v1'])
    const hist = JSON.parse((await forrest(['history', app, '--json'], env)).stdout)
    expect(hist.revisions.map((r: { revision: number }) => r.revision)).toEqual([1])
  })

  it('onFailure runs after a rolled-back deploy with outcome, exit code and the error', async () => {
    const spec = specFile(`${app}-bad`, { ...fast, image: 'demo/myapp:bad', 'health.deadline': '2s', hooks: { postDeploy: recorder(), onFailure: recorder() } })
    const res = await forrest(['deploy', spec], env)
    expect(res.code, res.stderr).toBe(EXIT.rolledBack)
    expect(hookEnv('on-failure')).toMatchObject({ FORREST_HOOK: 'on-failure', FORREST_OUTCOME: 'rolled-back', FORREST_EXIT_CODE: String(EXIT.rolledBack), FORREST_ERROR: 'ROLLED_BACK', FORREST_REVISION: '2', FORREST_FROM_REVISION: '1' })
    expect(hookJson('on-failure')).toMatchObject({ ok: false, error: { code: 'ROLLED_BACK', exit: EXIT.rolledBack } })
    expect(await bodies()).toEqual(['v1', 'v1'])
  })
})
