import { spawn } from 'node:child_process'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, removeByLabel, testRun, type CliResult } from '../helpers/cli.js'
import { startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { specFile } from '../helpers/spec-file.js'

/** `forrest run APP -- CMD…`: a one-off container of a revision, stdio attached, exit code passed through. */
const run = testRun('run')
const app = `o${run.id.slice(-6)}`
const SECRET = `pw-${run.id}`
let etcd: TestEtcd
let client: Etcd3
let env: NodeJS.ProcessEnv

const fast = { name: app, replicas: 1, 'health.interval': '100ms', 'health.deadline': '5s', 'update.drain': '200ms', 'update.stopGracePeriod': '2s', 'env.DB_PASSWORD': { fromEnv: 'TEST_DB_PASSWORD' } }
const keys = async () => client.getAll().prefix(`/${run.prefix}/`).keys()
const leftovers = async () => docker('ps', '-a', '--filter', `label=forrest.app=${app}`, '--filter', 'label=forrest.kind=run', '-q')

/** The CLI with `input` on its stdin (a pipe, not a terminal). */
function forrestWithStdin(args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/run.js', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })
    })
    child.stdin.end(input)
  })
}

beforeAll(async () => {
  etcd = await startEtcd()
  client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
  env = run.env(etcd.endpoint, { TEST_DB_PASSWORD: SECRET })
  for (const image of ['demo/myapp:1', 'demo/myapp:2']) {
    const res = await forrest(['deploy', specFile(`${app}-${image.slice(-1)}`, { ...fast, image })], env)
    expect(res.code, res.stderr).toBe(0)
  }
}, 60_000)

afterAll(async () => {
  await removeByLabel(run.label)
  client?.close()
  await etcd?.stop()
})

describe('forrest run against real dockerd and etcd', () => {
  it('pipes stdin in, stdout and stderr out, passes the exit code through, with the app env and secrets, and removes the container', async () => {
    const res = await forrestWithStdin(['run', app, '--', '/bin/sh', '-c', 'while read l; do echo "got $l"; done; echo "pw=$DB_PASSWORD page=$(cat /www/index.html)"; echo oops >&2; exit 7'], 'one\ntwo\n')
    expect(res.code, res.stderr).toBe(7)
    expect(res.stdout).toBe(`got one\ngot two\npw=${SECRET} page=v2\n`)
    expect(res.stderr).toBe('oops\n')
    expect(await leftovers()).toBe('')
    expect(await keys()).toHaveLength(1)
  })

  it('exit 0 is 0; --revision runs an older revision from history', async () => {
    const ok = await forrestWithStdin(['run', app, '--revision', '1', '--', '/bin/cat', '/www/index.html'], '')
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toBe('v1\n')
    const anotherCode = await forrestWithStdin(['run', app, '--', '/bin/sh', '-c', 'exit 42'], '')
    expect(anotherCode.code).toBe(42)
    expect(await leftovers()).toBe('')
  })

  it('with a terminal the command gets one (a TTY) and its exit code still passes through', async () => {
    // script(1) gives forrest a pseudo-terminal as stdin and stdout; -e passes the child's exit code.
    const cmd = `${process.execPath} bin/run.js run ${app} -- /bin/sh -c '/bin/busybox tty; exit 5'`
    const res = await new Promise<CliResult>((resolve) => {
      const child = spawn('script', ['-qec', `stty rows 33 cols 111; ${cmd}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
      let stdout = ''
      child.stdout.on('data', (d) => (stdout += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({ code: code ?? 1, stdout, stderr: '' })
      })
    })
    expect(res.code, res.stdout).toBe(5)
    expect(res.stdout).toMatch(/\/dev\/pts\/\d+/)
    expect(await leftovers()).toBe('')
  })

  it('bad input: no command is exit 2, an unknown revision exit 8, an unknown app exit 8; nothing is started', async () => {
    const none = await forrest(['run', app], env)
    expect(none.code).toBe(EXIT.badInput)
    expect(none.stderr).toContain(`forrest run ${app} -- /bin/sh`)
    const rev = await forrest(['run', app, '--revision', '9', '--', 'true'], env)
    expect(rev.code).toBe(EXIT.notFound)
    expect(rev.stderr).toContain('no revision 9')
    const unknown = await forrest(['run', `${app}x`, '--', 'true'], env)
    expect(unknown.code).toBe(EXIT.notFound)
    expect(await leftovers()).toBe('')
  })
})
