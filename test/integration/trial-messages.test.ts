import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { containersWithLabel, forrest, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { specFile } from '../helpers/spec-file.js'

// Messages found wrong or unhelpful by trying the new features as a new user (brief: trial).
const run = testRun('trial-msg')
let etcd: TestEtcd
let hostsFile: string

beforeAll(async () => {
  etcd = await startEtcd()
  const dir = await mkdtemp(join(tmpdir(), 'trial-msg-'))
  hostsFile = join(dir, 'forrest.hosts.yml')
  // The local engine under another name: a host of --hosts-file, as `launch --host` / `stop --host` use it.
  await writeFile(hostsFile, 'hosts:\n  - {name: trial-other, docker: "unix:///var/run/docker.sock", address: 127.0.0.1}\n')
})

afterAll(async () => {
  await removeByLabel(run.label)
  await etcd?.stop()
})

const env = () => run.env(etcd.endpoint)

describe('a missing argument of a topic command', () => {
  it('hints with the command as it is typed (host drain), not oclif id host:drain', async () => {
    const r = await forrest(['host', 'drain'], env())
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Missing 1 required arg')
    expect(r.stderr).toContain('Hint: See: forrest host drain --help')
    expect(r.stderr).not.toContain('host:drain')
  })
})

describe('launch/stop --host name the host they looked at, and hint what can work there', () => {
  it('launch --host of an image the host lacks: names the host, says launch does not pull (exit 8, nothing started)', async () => {
    const r = await forrest(['launch', 'demo/trial-nosuch:1', '--name', `${run.id}-l1`, '--host', 'trial-other', '--hosts-file', hostsFile], env())
    expect(r.code).toBe(8)
    expect(r.stderr).toContain('Error (IMAGE_NOT_FOUND): image "demo/trial-nosuch:1" is not on host trial-other, and forrest launch does not pull; nothing was started or changed')
    expect(r.stderr).toContain('Hint: Pull or load it on host trial-other first (docker pull demo/trial-nosuch:1, or docker load), then launch again')
    expect(r.stderr).not.toContain('Push it to a registry')
    expect(await containersWithLabel(run.label)).toEqual([])
  })

  it('stop --host of a name not there: names the host, and never hints a local docker ps (exit 8)', async () => {
    const r = await forrest(['stop', `${run.id}-none`, '--host', 'trial-other', '--hosts-file', hostsFile], env())
    expect(r.code).toBe(8)
    expect(r.stderr).toContain(`Error (CONTAINER_NOT_FOUND): no container named "${run.id}-none" on host trial-other; nothing was stopped or withdrawn`)
    expect(r.stderr).toContain('Hint: Check the name, and that it was started with forrest launch --host trial-other')
    expect(r.stderr).not.toContain('docker ps')
  })
})

describe('a failed scale of an app with one revision never hints forrest rollback (it would refuse)', () => {
  it('scale past hostPorts: exit 4, the hint says deploy again, not rollback', async () => {
    const app = `${run.id}-ports`
    const from = 26_000 + Math.floor(Math.random() * 3_000)
    const file = specFile(app, { name: app, replicas: 1, hostPorts: `${from}-${from + 1}`, 'update.drain': '100ms' })
    expect((await forrest(['deploy', file], env())).code).toBe(0)
    const r = await forrest(['scale', app, '3'], env())
    expect(r.code).toBe(4)
    expect(r.stderr).toContain(`Error (ROLLOUT_FAILED): scale of ${app} failed, nothing to roll back:`)
    expect(r.stderr).toContain(`Hint: Fix the cause, then deploy again (forrest deploy FILE); \`forrest status ${app}\` shows what is running (${app} has no earlier good revision to roll back to).`)
    expect(r.stderr).not.toContain('forrest rollback')
    // What the hint says not to run would indeed refuse.
    expect((await forrest(['rollback', app], env())).code).toBe(8)
  })
})

describe('forrest logs --follow --json', () => {
  it('streams one JSON object per line (NDJSON) as its help says, and ends on Ctrl-C with exit 0', async () => {
    const app = `${run.id}-logs`
    const file = specFile(app, { name: app, replicas: 1, command: ['/bin/sh', '-c', 'echo "hello trial"; exec /bin/httpd -f -p 8080 -h /www'], 'update.drain': '100ms' })
    const deployed = await forrest(['deploy', file], env())
    expect(deployed.code, deployed.stderr).toBe(0)
    const child = spawn(process.execPath, ['bin/run.js', 'logs', app, '--follow', '--json'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
    try {
      await pollUntil(() => out.includes('\n'), { timeoutMs: 15_000, what: "a JSON line from logs --follow --json" })
    } finally {
      child.kill('SIGINT')
    }
    expect(await exited, err).toBe(0)
    const first = JSON.parse(out.split('\n')[0]!)
    expect(first).toMatchObject({ instance: `${app}-r1-1`, host: 'local', stream: 'stdout', text: 'hello trial' })
  })
})

describe('forrest host drain with no other host for an app: the hint can work', () => {
  it('an app whose only host is the drained one: exit 22, the hint says add a host, never "uncordon one of its other hosts"', async () => {
    const app = `${run.id}-one`
    const file = specFile(app, { name: app, replicas: 1, 'update.drain': '100ms' })
    expect((await forrest(['deploy', file], env())).code).toBe(0)
    const r = await forrest(['host', 'drain', 'local'], env())
    expect(r.code).toBe(22)
    // The drain stops at the first app (by name) of this file's etcd on local: every app here has only local.
    const stopped = /cannot drain local: (\S+) has \d+ instances? there and no other host may take (it|them) \(local is its only host\)/.exec(r.stderr)
    expect(stopped, r.stderr).not.toBeNull()
    expect(stopped![1]).toContain(run.id)
    expect(r.stderr).toContain(`Hint: Make room for ${stopped![1]}: add a host to its hosts list (or to the inventory it uses) and deploy it, then run forrest host drain local again`)
    expect(r.stderr).not.toContain('uncordon one of its other hosts')
    expect((await forrest(['host', 'uncordon', 'local'], env())).code).toBe(0)
  })
})
