/**
 * Safety, round two (issue #21), the input side: what forrest reads (deployment files, secret
 * references, registry credentials, flags) never reaches further than it should, and what
 * `forrest launch` / `stop` touch is only theirs. Real dockerd, etcd and the lab (h1, registry).
 */
import { execFile } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT, type ForrestError } from '../../src/errors.js'
import type { CanaryAnalysis } from '../../src/plan/canary.js'
import { runCredentialHelper } from '../../src/image/credential-helper.js'
import { containersWithLabel, docker, forrest, httpGet, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { startSecureEtcd } from '../helpers/etcd-secure.js'
import { labEnvVars } from '../helpers/lab.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'
import { startLoad } from '../helpers/load.js'
import { specFile } from '../helpers/spec-file.js'

const execFileP = promisify(execFile)
const t = testRun('safety-in')
let etcd: TestEtcd
let client: Etcd3
let lab: Record<string, string>

/** The docker CLI against the lab's h1 (TLS). */
const onH1 = async (...args: string[]) =>
  (
    await execFileP('docker', ['--tlsverify', '--tlscacert', `${lab.FORREST_LAB_CERT_PATH}/ca.pem`, '--tlscert', `${lab.FORREST_LAB_CERT_PATH}/cert.pem`, '--tlskey', `${lab.FORREST_LAB_CERT_PATH}/key.pem`, '-H', lab.FORREST_LAB_H1_TLS!, ...args], {
      env: { ...process.env, DOCKER_HOST: '', DOCKER_CONFIG: lab.FORREST_LAB_DOCKER_CONFIG },
    })
  ).stdout.trim()

const keys = async () => client.getAll().prefix(`/${t.prefix}/`).strings()

beforeAll(async () => {
  lab = labEnvVars()
  etcd = await startEtcd()
  client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
}, 60_000)

afterAll(async () => {
  await removeByLabel(t.label)
  const ids = await onH1('ps', '-aq', '--filter', `label=${t.label}`).catch(() => '')
  if (ids) await onH1('rm', '-f', ...ids.split('\n'))
  client?.close()
  await etcd?.stop()
}, 60_000)

describe('forrest launch', () => {
  it('a launched container has the restart policy of rollout instances, on a fixed host port: after a crash it comes back at its announced address', async () => {
    const env = t.env(etcd.endpoint)
    const name = `${t.id}-crash`
    const res = await forrest(['launch', 'demo/myapp:1', '--name', name, '--json'], env)
    expect(res.code, res.stderr).toBe(0)
    try {
    const out = JSON.parse(res.stdout) as { name: string; address: string; key: string; hostPort: number }
    expect(await docker('inspect', '-f', '{{.HostConfig.RestartPolicy.Name}} {{(index (index .HostConfig.PortBindings "8080/tcp") 0).HostPort}}', out.name)).toBe(`unless-stopped ${out.hostPort}`)
    expect(await client.get(out.key).string()).toBe(out.address)
    // A crash: the process is killed; Docker brings it back on the same port.
    await docker('exec', out.name, 'sh', '-c', 'kill -9 $(pidof httpd)')
    await pollUntil(async () => Number(await docker('inspect', '-f', '{{.RestartCount}}', out.name)) >= 1, { what: 'the restart after the crash', timeoutMs: 20_000 })
    await pollUntil(async () => (await httpGet(out.address).catch(() => ({ body: '' }))).body === 'v1', { what: 'the announced address answering again', timeoutMs: 20_000 })
    expect(await client.get(out.key).string()).toBe(out.address)
    expect((await forrest(['stop', out.name], env)).code).toBe(0)
    } finally {
      await docker('rm', '-f', name).catch(() => '')
      await client.delete().key(`/${t.prefix}/${name}`)
    }
  }, 90_000)

  describe('an app instance\'s key (the app runs on lab host h1)', () => {
    const app = `si${t.id.slice(-6)}`
    let instance: string
    let key: string
    let address: string

    beforeAll(async () => {
      const file = specFile(`${app}`, {
        name: app,
        image: `${lab.FORREST_LAB_REGISTRY}/demo/myapp:1`,
        replicas: 1,
        hosts: [{ name: 'h1', docker: lab.FORREST_LAB_H1_TLS, address: '10.213.0.11', tls: { certPath: lab.FORREST_LAB_CERT_PATH } }],
        'health.interval': '100ms',
        'update.drain': '100ms',
      })
      const res = await forrest(['deploy', file], { ...t.env(etcd.endpoint), DOCKER_HOST: '', DOCKER_CONFIG: lab.FORREST_LAB_DOCKER_CONFIG! }, 120_000)
      expect(res.code, res.stdout + res.stderr).toBe(0)
      const announced = Object.entries(await keys()).filter(([k]) => k.startsWith(`/${t.prefix}/${app}-`))
      expect(announced).toHaveLength(1)
      ;[key, address] = announced[0]!
      instance = key.split('/').at(-1)!
    }, 150_000)

    it('launch --name <that instance> is refused (exit 9), naming the app; nothing is started or written', async () => {
      const res = await forrest(['launch', 'demo/myapp:2', '--name', instance], t.env(etcd.endpoint))
      expect(res.code, res.stdout + res.stderr).toBe(EXIT.conflict)
      expect(res.stderr).toContain('NAME_TAKEN')
      expect(res.stderr).toContain(`${key} is the key of app ${app}'s instance ${instance}`)
      expect(res.stderr).toContain('Nothing was started or changed')
      expect(await client.get(key).string()).toBe(address)
      expect(await containersWithLabel(t.label)).toEqual([])
      expect((await httpGet(address)).body).toBe('v1')
    })

    it('stop acts on what the key and the record agree on: a key pointing elsewhere leaves both alone (exit 9)', async () => {
      const elsewhere = '127.0.0.1:1'
      await client.put(key).value(elsewhere)
      try {
        const res = await forrest(['stop', instance], t.env(etcd.endpoint))
        expect(res.code, res.stdout + res.stderr).toBe(EXIT.conflict)
        expect(res.stderr).toContain('KEY_CONFLICT')
        expect(res.stderr).toContain(`${key} = ${elsewhere}, but app ${app}'s record of ${instance} says ${address}`)
        expect(res.stderr).toContain('Nothing was stopped or withdrawn')
        expect(await client.get(key).string()).toBe(elsewhere)
        expect(await onH1('inspect', '-f', '{{.State.Running}}', instance)).toBe('true')
      } finally {
        await client.put(key).value(address)
      }
    })
  })
})

describe('health.path', () => {
  it.each([
    ['a space', '/health check', /health\.path: contains a space at position 8/],
    ['a newline', '/health\ncheck', /health\.path: contains a control character U\+000A at position 8/],
  ])('with %s: deploy exits 2 naming file:line:col and the reason; nothing is touched', async (_, path, reason) => {
    const file = specFile(`${t.id}-path`, { name: `p${t.id.slice(-6)}`, replicas: 1, 'health.path': path })
    const res = await forrest(['deploy', file], t.env(etcd.endpoint))
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.badInput)
    expect(res.stderr).toContain(`${file}:`)
    expect(res.stderr).toMatch(reason)
    expect(await containersWithLabel(`forrest.app=p${t.id.slice(-6)}`)).toEqual([])
    expect(await client.getAll().prefix(`/forrest/apps/p${t.id.slice(-6)}/`).keys()).toEqual([])
  })
})

describe('registry credentials are bound to the registry they are for', () => {
  /**
   * A registry that wants Basic auth and writes down every Authorization header it is sent: what
   * forrest handed the engine for it. Plain HTTP on 127.0.0.1, which Docker treats as insecure by
   * default, so the local engine talks to it.
   */
  let server: Server
  let other: string
  const seen: string[] = []
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers.authorization ?? '')
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="collector"', 'Docker-Distribution-API-Version': 'registry/2.0', 'Content-Type': 'application/json' })
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    other = `127.0.0.1:${(server.address() as { port: number }).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  const ci = () => ({ ...t.env(etcd.endpoint), DOCKER_CONFIG: mkdtempSync(join(tmpdir(), 'forrest-noconfig-')), FORREST_REGISTRY_SERVER: lab.FORREST_LAB_REGISTRY!, FORREST_REGISTRY_USER: lab.FORREST_LAB_REGISTRY_USER!, FORREST_REGISTRY_PASSWORD_FILE: lab.FORREST_LAB_REGISTRY_PASSWORD_FILE! })

  it('an image naming another registry gets no credentials: that registry sees no Authorization header (diff exits 16, found none)', async () => {
    const file = specFile(`${t.id}-collector`, { name: `c${t.id.slice(-6)}`, replicas: 1, image: `${other}/team/app:1` })
    seen.length = 0
    const res = await forrest(['diff', file], ci())
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.registryAuth)
    expect(res.stderr).toContain('the registry wants credentials and forrest found none')
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.filter(Boolean)).toEqual([])
  })

  it('the registry FORREST_REGISTRY_SERVER names gets them: diff of the lab image resolves (exit 0)', async () => {
    const file = specFile(`${t.id}-lab`, { name: `l${t.id.slice(-6)}`, replicas: 1, image: `${lab.FORREST_LAB_REGISTRY}/demo/myapp:1` })
    const res = await forrest(['diff', file], ci())
    expect(res.code, res.stdout + res.stderr).toBe(0)
  })

  it('FORREST_REGISTRY_USER without FORREST_REGISTRY_SERVER is bad input (exit 2) naming the fix; nothing is sent anywhere', async () => {
    const file = specFile(`${t.id}-noserver`, { name: `n${t.id.slice(-6)}`, replicas: 1, image: `${other}/team/app:1` })
    seen.length = 0
    const res = await forrest(['diff', file], { ...ci(), FORREST_REGISTRY_SERVER: '' })
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.badInput)
    expect(res.stderr).toContain('FORREST_REGISTRY_SERVER is not')
    expect(res.stderr).toContain('Set FORREST_REGISTRY_SERVER to the registry host[:port]')
    expect(seen).toEqual([])
  })

  it('a credential helper that fails never has its stdout quoted in the error', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'forrest-helper-'))
    writeFileSync(join(bin, 'docker-credential-leaky'), '#!/bin/sh\nread server\necho \'{"Username":"ci","Secret":"s3cr3t-from-stdout"}\'\necho "helper broke" >&2\nexit 3\n')
    chmodSync(join(bin, 'docker-credential-leaky'), 0o755)
    const path = process.env.PATH
    process.env.PATH = `${bin}${delimiter}${path}`
    try {
      const err = (await runCredentialHelper('leaky', 'registry.example.com', 'registry.example.com').catch((e: unknown) => e)) as ForrestError
      expect(err).toMatchObject({ code: 'REGISTRY_AUTH_FAILED', exit: EXIT.registryAuth })
      expect(err.message).toContain('docker-credential-leaky get exited 3: helper broke')
      expect(`${err.message} ${err.suggestion}`).not.toContain('s3cr3t')
    } finally {
      process.env.PATH = path
    }
  })
})

describe('secret files are read only below the deployment file\'s folder (or FORREST_SECRETS_DIR)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forrest-secretdir-'))
  const outside = mkdtempSync(join(tmpdir(), 'forrest-outside-'))
  writeFileSync(join(outside, 'stolen'), 'not-for-containers\n')
  mkdirSync(join(dir, 'secrets'))
  writeFileSync(join(dir, 'secrets', 'ok'), 'fine-secret\n')
  symlinkSync(join(outside, 'stolen'), join(dir, 'secrets', 'link'))
  const app = `s${t.id.slice(-6)}`
  const write = (name: string, env: string) => {
    const file = join(dir, `${name}.yml`)
    writeFileSync(file, `name: ${app}\nimage: demo/myapp:1\nreplicas: 1\n${env}`)
    return file
  }
  const nothingTouched = async () => {
    expect(await containersWithLabel(`forrest.app=${app}`)).toEqual([])
    expect(await client.getAll().prefix(`/forrest/apps/${app}/`).keys()).toEqual([])
  }

  it.each([
    ['an absolute path', 'env:\n  K: {fromFile: /etc/shadow}\n', 'env.K: /etc/shadow is outside the allowed directories'],
    ['"../"', `env:\n  K: {fromFile: ../${outside.split('/').at(-1)}/stolen}\n`, `env.K: ../${outside.split('/').at(-1)}/stolen is outside the allowed directories`],
    ['a symlink that leaves', 'env:\n  K: {fromFile: secrets/link}\n', `env.K: secrets/link is a symlink that leaves the allowed directories (to ${join(outside, 'stolen')})`],
    ['an envFile outside', `envFile: ${join(outside, 'stolen')}\n`, 'envFile: '],
  ])('%s is refused: exit 2 naming file, field and fix; nothing read or touched', async (_, env, message) => {
    const file = write('refused', env)
    const res = await forrest(['deploy', file], t.env(etcd.endpoint))
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.badInput)
    expect(res.stderr).toContain(`${file}: ${message}`)
    expect(res.stderr).toContain('Nothing was read or changed')
    expect(res.stderr).toContain('FORREST_SECRETS_DIR=')
    expect(res.stdout + res.stderr).not.toContain('not-for-containers')
    await nothingTouched()
  })

  it('below the folder is read; a directory outside it is read once FORREST_SECRETS_DIR allows it (diff exits 0)', async () => {
    expect((await forrest(['diff', write('inside', 'env:\n  K: {fromFile: secrets/ok}\n')], t.env(etcd.endpoint))).code).toBe(0)
    const widened = await forrest(['diff', write('widened', `env:\n  K: {fromFile: ${join(outside, 'stolen')}}\n`)], t.env(etcd.endpoint, { FORREST_SECRETS_DIR: outside }))
    expect(widened.code, widened.stdout + widened.stderr).toBe(0)
    await nothingTouched()
  })

  it('{fromEnv: FORREST_REGISTRY_PASSWORD} is refused at validation: exit 2 with file:line:col; the value never appears', async () => {
    const file = write('own', 'env:\n  K: {fromEnv: FORREST_REGISTRY_PASSWORD}\n')
    const res = await forrest(['deploy', file], t.env(etcd.endpoint, { FORREST_REGISTRY_PASSWORD: 'job-registry-password' }))
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.badInput)
    expect(res.stderr).toContain(`${file}:5:16 env.K.fromEnv:`)
    expect(res.stderr).toContain("$FORREST_REGISTRY_PASSWORD is one of forrest's own credentials and is never passed to a container")
    expect(res.stdout + res.stderr).not.toContain('job-registry-password')
    await nothingTouched()
  })
})

describe('errors named for their cause', () => {
  it('a wrong etcd CA is a certificate problem (ETCD_TLS_FAILED, exit 13) on every command, not "etcd did not answer"', async () => {
    const secure = await startSecureEtcd()
    try {
      for (const args of [['status'], ['history', 'myapp'], ['scale', 'myapp', '2'], ['deploy', 'deployments/myapp.yml']]) {
        const res = await forrest(args, { ...t.env(''), ...secure.env('forrest'), ETCDCTL_CACERT: secure.files.rogueCa }, 60_000)
        expect(res.code, `${args[0]}: ${res.stdout}${res.stderr}`).toBe(EXIT.etcdTls)
        expect(res.stderr, args[0]).toContain('ETCD_TLS_FAILED')
        expect(res.stderr, args[0]).toMatch(/presented a certificate from an unknown authority/)
        expect(res.stderr, args[0]).toContain('Set ETCDCTL_CACERT')
      }
    } finally {
      await secure.stop()
    }
  }, 180_000)

  it('a deployment file the user cannot read is a file error (exit 2, naming the file), not ETCD_PERMISSION_DENIED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forrest-unreadable-'))
    chmodSync(dir, 0o755)
    const file = join(dir, 'app.yml')
    writeFileSync(file, 'name: web\nimage: demo/myapp:1\n')
    chmodSync(file, 0o600) // root's; forrest runs as nobody below
    for (const verb of ['deploy', 'diff']) {
      const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, 'bin/run.js', verb, file], { env: { ...t.env(etcd.endpoint), HOME: '/tmp' } }, (err, _out, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code) : 0, stderr }),
        )
      })
      expect(code, stderr).toBe(EXIT.badInput)
      expect(stderr).toContain(`Error (BAD_INPUT): cannot read deployment spec ${file}: permission denied`)
      expect(stderr).toContain(`Make ${file} readable by this user`)
      expect(stderr).not.toContain('ETCD_PERMISSION_DENIED')
    }
  })
})

describe('the canary counts dropped connections (real HAProxy + forrest gateway)', () => {
  const run = testRun('safety-drop')
  const app = `d${run.id.slice(-6)}`
  const base = { name: app, replicas: 3, image: 'demo/myapp:cgi', 'health.interval': '100ms', 'health.deadline': '5s', 'update.stopGracePeriod': '1s', 'update.drain': '1s' }
  let stack: LbStack

  beforeAll(async () => {
    stack = await startLbStack(run)
    const first = await forrest(['deploy', specFile(`${app}-stable`, base)], stack.env, 60_000)
    expect(first.code, first.stdout + first.stderr).toBe(0)
  }, 90_000)
  afterAll(async () => stack?.stop(), 40_000)

  it('a canary that closes half its connections, which HAProxy retries elsewhere (clients see no 5xx), is rolled back (exit 3) on econ/eresp/wretr/wredis', async () => {
    const load = startLoad({ url: `${stack.haproxy.url}/cgi-bin/app`, concurrency: 4, pauseMs: 10, maxDurationMs: 90_000 })
    try {
      await pollUntil(() => load.samples.length > 20, { what: 'stable traffic before the canary' })
      const file = specFile(`${app}-drop`, { ...base, image: 'demo/myapp:drop', 'update.canary': { count: 1, window: '6s', minRequests: 20, maxErrorRateIncrease: 0.05, maxLatencyFactor: 2 } })
      const res = await forrest(['deploy', '--json', file], stack.env, 90_000)
      expect(res.code, res.stdout + res.stderr).toBe(EXIT.rolledBack)
      const analysis = (JSON.parse(res.stdout) as { error: { detail: { canary: CanaryAnalysis } } }).error.detail.canary
      console.info(`[drop canary] ${analysis.reasons.join('; ')}`)
      expect(analysis.verdict).toBe('failed')
      // What fooled the 5xx rule: HAProxy retried the dropped requests on the stable instances,
      // so the canary's 5xx share alone stays under the threshold.
      expect(analysis.canary.errorRate).toBeLessThan(0.05)
      expect(analysis.reasons.join('\n')).toMatch(/^connection failures \d+\.\d% \(econ \d+, eresp \d+, wretr \d+, wredis \d+; \d+ responses\) against stable 0\.0%/m)
      expect(analysis.canary.failureRate).toBeGreaterThan(0.2)
      expect(analysis.stable.failureRate).toBe(0)
    } finally {
      const report = await load.stop()
      console.info(`[drop canary] ${report.sent} requests through HAProxy, ${report.non2xx} non-2xx, ${report.errors} connection errors`)
    }
  }, 120_000)
})

describe('the task list after a failed start', () => {
  it('marks the failed start and its wave (run as one flow) as failed (✖ start, ✖ wave 1/1), never ✔', async () => {
    const app = `f${t.id.slice(-6)}`
    const file = specFile(`${app}-bad`, { name: app, replicas: 1, image: 'demo/myapp:bad', 'health.interval': '100ms', 'health.deadline': '2s' })
    const res = await forrest(['deploy', file], t.env(etcd.endpoint, { CI: 'true' }))
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.failed)
    const lines = (res.stdout + res.stderr).split('\n')
    const marks = (title: RegExp) => lines.filter((l) => title.test(l)).map((l) => l.trim()[0])
    // The wave runs as one flow (#30): its title says so, and it fails with its step.
    expect(marks(/\] wave 1\/1: 1 step, each as soon as the bounds allow( \[|$)/)).toEqual(['❯', '✖'])
    expect(marks(new RegExp(`\\] start ${app}-r1-1 \\(revision 1\\)`))).toEqual(['❯', '✖'])
    expect(lines.some((l) => l.trim().startsWith('✔'))).toBe(false)
  })
})
