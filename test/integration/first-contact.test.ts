import { Etcd3 } from 'etcd3'
import { execFile, spawn } from 'node:child_process'
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import { readFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createH2Server, type Http2Server } from 'node:http2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, removeByLabel, testRun } from '../helpers/cli.js'
import { freePort, pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { specFile } from '../helpers/spec-file.js'

const run = testRun('first-contact')
let etcd: TestEtcd

beforeAll(async () => {
  etcd = await startEtcd()
})

afterAll(async () => {
  await removeByLabel(run.label)
  await etcd?.stop()
})

const env = (extra: Record<string, string> = {}) => run.env(etcd.endpoint, extra)

/** deployments/myapp.yml as app `name`, one replica, fast checks, with `changes` on top. */
const appFile = (name: string, changes: Record<string, unknown> = {}) =>
  specFile(`${run.id}-${name}`, {
    name: `${name}${run.id.slice(-6)}`,
    replicas: 1,
    'health.interval': '100ms',
    'health.deadline': '3s',
    'update.drain': '100ms',
    'update.stopGracePeriod': '1s',
    ...changes,
  })
const appName = (name: string) => `${name}${run.id.slice(-6)}`

describe('ETCD_HOST pointing at something that is not etcd', () => {
  let h2: Http2Server
  let h1: Server
  let h2Port: number
  let h1Port: number

  beforeAll(async () => {
    h2Port = await freePort()
    h1Port = await freePort()
    h2 = createH2Server((_req, res) => {
      res.writeHead(501, { server: 'not-etcd' })
      res.end('not implemented')
    })
    h1 = createHttpServer((_req, res) => {
      res.writeHead(404, { server: 'plain-http' })
      res.end('no such page')
    })
    await new Promise<void>((r) => h2.listen(h2Port, '127.0.0.1', r))
    await new Promise<void>((r) => h1.listen(h1Port, '127.0.0.1', r))
  })

  afterAll(async () => {
    await new Promise((r) => h2?.close(r))
    await new Promise((r) => h1?.close(r))
  })

  it('an HTTP/2 server answering gRPC with 501 is named, not INTERNAL', async () => {
    const res = await forrest(['status'], run.env(`127.0.0.1:${h2Port}`))
    expect(res.code, res.stderr).toBe(EXIT.etcdUnreachable)
    expect(res.stderr).toContain('ETCD_NOT_ETCD')
    expect(res.stderr).toContain(`127.0.0.1:${h2Port}`)
    expect(res.stderr).toMatch(/HTTP status 501/)
    expect(res.stderr).toMatch(/not etcd/)
    expect(res.stderr).not.toMatch(/this is a bug|INTERNAL/)
  })

  it('a plain HTTP/1 server is named with what it answered, not "did not answer"', async () => {
    const res = await forrest(['status'], run.env(`127.0.0.1:${h1Port}`))
    expect(res.code, res.stderr).toBe(EXIT.etcdUnreachable)
    expect(res.stderr).toContain('ETCD_NOT_ETCD')
    expect(res.stderr).toContain(`127.0.0.1:${h1Port}`)
    expect(res.stderr).toMatch(/HTTP\/1\.1 404/)
    expect(res.stderr).toContain('plain-http')
    expect(res.stderr).not.toMatch(/did not answer/)
  })

  it('a closed port is ETCD_UNREACHABLE with a hint that works without the repository', async () => {
    const port = await freePort()
    const res = await forrest(['status'], run.env(`127.0.0.1:${port}`))
    expect(res.code, res.stderr).toBe(EXIT.etcdUnreachable)
    expect(res.stderr).toContain('ETCD_UNREACHABLE')
    expect(res.stderr).not.toContain('scripts/dev-stack.sh')
    expect(res.stderr).toMatch(/ETCD_HOST/)
    expect(res.stderr).toMatch(/docker run .*etcd/)
  })
})

describe('failures named for their cause, with hints that work', () => {
  it('a wrong port names the port the image EXPOSEs and the fix', async () => {
    const res = await forrest(['deploy', appFile('wport', { port: 80 })], env())
    expect(res.code, res.stderr).toBe(EXIT.failed)
    expect(res.stderr).toMatch(/was not healthy/)
    expect(res.stderr).toMatch(/EXPOSEs 8080.*port: 80|port: 80.*EXPOSEs 8080/)
    expect(res.stderr).toMatch(/set `port: 8080`/)
  })

  it('a crashing command is named as exited (code) with its last log lines, not "no published port"', async () => {
    const res = await forrest(['deploy', appFile('crash', { command: ['/bin/sh', '-c', 'echo cannot open /etc/app.conf >&2; exit 3'] })], env())
    expect(res.code, res.stderr).toBe(EXIT.failed)
    expect(res.stderr).not.toMatch(/no published port|was not healthy/)
    expect(res.stderr).toMatch(/exited with code 3/)
    expect(res.stderr).toMatch(/last log lines of crash\w+-r1-1:\s+cannot open \/etc\/app.conf/)
  })

  it('a failed first deploy hints what works: not rollback or status, which answer "no app"', async () => {
    const file = appFile('first', { port: 80 })
    const res = await forrest(['deploy', file], env())
    expect(res.code, res.stderr).toBe(EXIT.failed)
    const hint = res.stderr.split('Hint:')[1] ?? ''
    expect(hint).not.toMatch(/forrest rollback|forrest status/)
    expect(hint).toMatch(/forrest deploy/)
    // and indeed they do not work in that state
    const status = await forrest(['status', appName('first')], env())
    expect(status.code).toBe(EXIT.notFound)
  })

  it('a rolled-back deploy whose container logged nothing does not point at log lines "above"', async () => {
    const good = appFile('quiet')
    expect((await forrest(['deploy', good], env())).code).toBe(0)
    const res = await forrest(['deploy', appFile('quiet', { port: 80 })], env())
    expect(res.code, res.stderr).toBe(EXIT.rolledBack)
    expect(res.stderr).not.toMatch(/last log lines/)
    expect(res.stderr).not.toMatch(/above/)
  })

  it('FORREST_IP set to an address the host does not have is a typed error naming it (exit 2)', async () => {
    const res = await forrest(['deploy', appFile('badip')], env({ FORREST_IP: '10.254.254.254' }))
    expect(res.code, res.stderr).toBe(EXIT.badInput)
    expect(res.stderr).toContain('10.254.254.254')
    expect(res.stderr).toMatch(/FORREST_IP/)
    expect(res.stderr).not.toMatch(/cannot assign requested address/)
  })
})

describe('DOCKER_UNREACHABLE with a single local host', () => {
  it('does not suggest --allow-unreachable-hosts (there is no other host to roll on)', async () => {
    const res = await forrest(['deploy', appFile('nodocker')], env({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' }))
    expect(res.code, res.stderr).toBe(EXIT.dockerUnreachable)
    expect(res.stderr).toContain('unix:///nonexistent/docker.sock')
    expect(res.stderr).not.toContain('--allow-unreachable-hosts')
    expect(res.stderr).not.toContain('scripts/dev-stack.sh')
    expect(res.stderr).toMatch(/Hint: .*DOCKER_HOST/)
  })
})

describe('waiting on a lock says who holds it and for how long', () => {
  /** Puts a lock record for `app` under a lease of `ttl` seconds; keepAlive: the holder is live. */
  async function holdLock(app: string, holder: { pid: number; host?: string }, ttl: number, keepAlive: boolean) {
    const client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
    const lease = client.lease(ttl, { autoKeepAlive: keepAlive })
    const value = JSON.stringify({ actor: 'alice@ci', host: holder.host ?? hostname(), pid: holder.pid, since: new Date().toISOString(), command: `deploy ${app}.yml` })
    await lease.put(`/forrest/locks/${app}`).value(value)
    return {
      release: async () => {
        await lease.revoke().catch(() => undefined)
        client.close()
      },
    }
  }

  it('--wait-lock prints the holder and the time waited every few seconds, on plain output', async () => {
    const file = appFile('waiter')
    const lock = await holdLock(appName('waiter'), { pid: process.pid }, 30, true)
    try {
      const res = await forrest(['deploy', file, '--wait-lock=7s'], env())
      expect(res.code, res.stderr).toBe(EXIT.lockHeld)
      const waits = res.stderr.split('\n').filter((l) => /waiting for the lock/.test(l))
      expect(waits.length, res.stderr).toBeGreaterThanOrEqual(2)
      expect(waits[0]).toContain(`alice@ci on ${hostname()} (pid ${process.pid}`)
      expect(res.stderr).toMatch(/waiting for the lock, held by alice@ci .* waited [5-7]s of 7s/)
    } finally {
      await lock.release()
    }
  })

  it('a lock held by a process that is gone is named as such, with the seconds until its lease frees it', async () => {
    const gone = spawn(process.execPath, ['-e', '0'])
    await new Promise((r) => gone.once('exit', r))
    expect((await forrest(['deploy', appFile('orphan')], env())).code).toBe(0)
    const lock = await holdLock(appName('orphan'), { pid: gone.pid! }, 20, false)
    try {
      const res = await forrest(['deploy', appFile('orphan', { 'env.LOG_LEVEL': 'debug' })], env())
      expect(res.code, res.stderr).toBe(EXIT.lockHeld)
      expect(res.stderr).toContain(`pid ${gone.pid}`)
      expect(res.stderr).toMatch(/which is no longer running/)
      expect(res.stderr).toMatch(/its etcd lease frees the lock in 1?\d+s/)
      // status names it the same way
      const status = await forrest(['status', appName('orphan')], env())
      expect(status.stdout + status.stderr).toMatch(new RegExp(`pid ${gone.pid}\\) since .*; that process is no longer running, its etcd lease frees the lock in 1?\\d+s`))
    } finally {
      await lock.release()
    }
  })
})

describe('an etcd that does not answer', () => {
  it('status and deploy say so while they retry, before failing with ETCD_UNREACHABLE', async () => {
    // Accepts connections and never answers: what a frozen (SIGSTOPped) or wedged etcd looks like.
    const held: Socket[] = []
    const blackHole = createNetServer((s) => void held.push(s.on('error', () => undefined)))
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r))
    const endpoint = `127.0.0.1:${(blackHole.address() as AddressInfo).port}`
    try {
      const [status, deploy] = await Promise.all([forrest(['status'], run.env(endpoint)), forrest(['deploy', appFile('frozen')], run.env(endpoint))])
      for (const res of [status, deploy]) {
        expect(res.code, res.stderr).toBe(EXIT.etcdUnreachable)
        const lines = res.stderr.split('\n')
        const retrying = lines.findIndex((l) => l.includes(`etcd at ${endpoint} is not answering`) && /retrying, attempt 2 of \d/.test(l))
        expect(retrying, res.stderr).toBeGreaterThanOrEqual(0)
        expect(retrying).toBeLessThan(lines.findIndex((l) => l.startsWith('Error (ETCD_UNREACHABLE)')))
      }
    } finally {
      for (const s of held) s.destroy()
      await new Promise((r) => blackHole.close(r))
    }
  }, 90_000)
})

describe('after Ctrl-C', () => {
  /** Starts the CLI and hands back the child, so the test can signal it. */
  function spawnForrest(args: string[]) {
    const child = spawn(process.execPath, ['bin/run.js', ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })))
    return { child, done, out: () => stdout + stderr }
  }
  const client = () => new Etcd3({ hosts: `http://${etcd.endpoint}` })
  const registered = async (c: Etcd3, name: string) => (await c.get(`/${run.prefix}/${name}`).string()) !== null
  const containerExists = async (name: string) => (await docker('ps', '-aq', '--filter', `name=^${name}$`)) !== ''

  it('says how many new and old instances were left, registered or not, and what the next deploy does', async () => {
    const app = appName('intr')
    const spec = (level: string) => appFile('intr', { replicas: 2, 'env.LOG_LEVEL': level, 'update.soak': '2s' })
    expect((await forrest(['deploy', spec('one')], env())).code).toBe(0)
    const c = client()
    try {
      const run2 = spawnForrest(['deploy', spec('two')])
      // Once the first new instance serves and the second is being started, interrupt.
      await pollUntil(async () => (await registered(c, `${app}-r2-1`)) && (await containerExists(`${app}-r2-2`)), { timeoutMs: 60_000, intervalMs: 100, what: 'r2-2 started' })
      run2.child.kill('SIGINT')
      const res = await run2.done
      expect(res.code, res.stderr).toBe(EXIT.interrupted)
      expect(res.stderr).toMatch(/left: 1 instance of revision 2 \(new\), 1 of revision 1 \(old\)/)
      expect(res.stderr).toMatch(/all registered/)
      expect(res.stderr).toMatch(/The next `forrest deploy` of the same file continues to revision 2/)
    } finally {
      c.close()
    }
  }, 120_000)

  it('a second Ctrl-C leaves the lock and an unregistered container: the next run says so', async () => {
    const app = appName('intr2')
    const spec = (level: string) => appFile('intr2', { replicas: 1, 'env.LOG_LEVEL': level, 'update.soak': '3s' })
    expect((await forrest(['deploy', spec('one')], env())).code).toBe(0)
    const run2 = spawnForrest(['deploy', spec('two')])
    await pollUntil(() => containerExists(`${app}-r2-1`), { timeoutMs: 60_000, intervalMs: 50, what: 'r2-1 created' })
    run2.child.kill('SIGINT')
    await pollUntil(() => /SIGINT: finishing or undoing/.test(run2.out()), { timeoutMs: 5000, what: 'first SIGINT seen' })
    run2.child.kill('SIGINT')
    const res = await run2.done
    expect(res.code, res.stderr).toBe(EXIT.interrupted)
    expect(res.stderr).toMatch(/SIGINT again: exiting now; left: the lock .* and possibly a container it started but did not register/)
    // The next run, at once: the lock's holder is gone, and it says when the lease frees it.
    const next = await forrest(['deploy', spec('two')], env())
    expect(next.code, next.stderr).toBe(EXIT.lockHeld)
    expect(next.stderr).toMatch(/which is no longer running; its etcd lease frees the lock in \d+s/)
    // Waiting for it: it names the unregistered container and adopts (or removes) it.
    const after = await forrest(['deploy', spec('two'), '--wait-lock=30s'], env())
    expect(after.code, after.stderr).toBe(0)
    expect(after.stdout + after.stderr).toMatch(new RegExp(`${app}-r2-1 (runs revision 2 but is not registered: adopt it|is running but not registered)`))
  }, 120_000)
})

describe('nits', () => {
  it('rollback names the image by its tag and short ID, not "image sha256:…"', async () => {
    expect((await forrest(['deploy', appFile('rb', { 'env.LOG_LEVEL': 'one' })], env())).code).toBe(0)
    expect((await forrest(['deploy', appFile('rb', { 'env.LOG_LEVEL': 'two' })], env())).code).toBe(0)
    const res = await forrest(['rollback', appName('rb')], env())
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toMatch(/image demo\/myapp:1 \(sha256:[a-f0-9]{12}, revision 1\)/)
    expect(res.stdout).not.toMatch(/image sha256:/)
  })

  it('deploy --svg says it wrote the file', async () => {
    const out = join(tmpdir(), `${run.id}-rollout.svg`)
    const res = await forrest(['deploy', appFile('svg'), '--svg', out], env())
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toContain(`wrote the rollout picture (1 step) to ${out}`)
    expect(await readFile(out, 'utf8')).toContain('(1 step)')
  })
  it('a mistyped command gets "did you mean" (bad input, exit 2), in the bundle and over dist/', async () => {
    for (const extra of [{}, { FORREST_BUNDLE: '0' }] as Array<Record<string, string>>) {
      const res = await forrest(['stauts', 'myapp'], env(extra))
      expect(res.code, res.stderr).toBe(EXIT.badInput)
      expect(res.stderr).toContain('Error (BAD_INPUT): "stauts" is not a forrest command')
      expect(res.stderr).toContain('Did you mean `forrest status myapp`?')
    }
  })
  it('logs on an app that wrote nothing says so on a terminal, and nothing extra into a pipe', async () => {
    expect((await forrest(['deploy', appFile('silent')], env())).code).toBe(0)
    const piped = await forrest(['logs', appName('silent')], env())
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stdout + piped.stderr).toBe('')
    // util-linux script(1) gives the CLI a pseudo-terminal.
    const onTty = await new Promise<string>((resolve, reject) =>
      execFile('script', ['-qec', `${process.execPath} bin/run.js logs ${appName('silent')}`, '/dev/null'], { env: env() }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    )
    expect(onTty).toContain(`${appName('silent')}: its instance has written no log lines`)
  })
})
