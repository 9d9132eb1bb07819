import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { docker, forrest, httpGet, removeByLabel, testRun } from '../helpers/cli.js'
import { startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { specFile } from '../helpers/spec-file.js'

/**
 * The release command (spec `release:`): once per new revision, in a container of the new image
 * with the app's env and secrets, before any instance of the new revision starts, while the old
 * revision serves. A small HTTP server on the Docker bridge plays the database the command
 * migrates: it records each call and, at that moment, which containers of the app exist.
 */
const run = testRun('release')
const app = `r${run.id.slice(-6)}`
const SECRET = `s3cr3t-${run.id}`
let etcd: TestEtcd
let client: Etcd3
let env: NodeJS.ProcessEnv
let db: Server
let dbAddress = ''
const migrations: Array<{ url: string; at: number; containers: string[]; oldBody: string }> = []

const fast = { name: app, replicas: 2, 'health.interval': '100ms', 'health.deadline': '5s', 'update.drain': '200ms', 'update.stopGracePeriod': '2s', 'env.DB_TOKEN': { fromEnv: 'TEST_DB_TOKEN' } }
const appLabel = `forrest.app=${app}`
const keys = async () => client.getAll().prefix(`/${run.prefix}/`).strings()
/** name revision=N state, for every container of the app (release containers included). */
const containers = async () =>
  (await docker('ps', '-a', '--filter', `label=${appLabel}`, '--format', '{{.Names}} {{.Label "forrest.kind"}} {{.Label "forrest.revision"}} {{.State}}')).split('\n').filter(Boolean).sort()
const json = async (args: string[]) => {
  const r = await forrest([...args, '--json'], env)
  return { ...r, out: JSON.parse(r.stdout || '{}') }
}
const bodies = async () => Promise.all(Object.values(await keys()).map(async (a) => (await httpGet(a)).body))

beforeAll(async () => {
  etcd = await startEtcd()
  client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
  env = run.env(etcd.endpoint, { TEST_DB_TOKEN: SECRET })
  db = createServer((req, res) => {
    void (async () => {
      const kv = await keys()
      const oldBody = (await httpGet(Object.values(kv)[0] ?? '127.0.0.1:1').catch(() => ({ body: 'unreachable' }))).body
      migrations.push({ url: req.url ?? '', at: Date.now(), containers: await containers(), oldBody })
      res.end('migrated\n')
    })()
  })
  await new Promise<void>((resolve) => db.listen(0, '0.0.0.0', resolve))
  dbAddress = `172.17.0.1:${(db.address() as AddressInfo).port}`
  const first = await forrest(['deploy', specFile(`${app}-v1`, { ...fast, image: 'demo/myapp:1' })], env)
  expect(first.code, first.stderr).toBe(0)
}, 60_000)

afterAll(async () => {
  await removeByLabel(run.label)
  db?.close()
  client?.close()
  await etcd?.stop()
})

/** The app is exactly as revision 1 left it: two rollout containers of revision 1, both keys answering v1, no other container. */
async function expectUntouched(before: string[]) {
  expect(await containers()).toEqual(before)
  expect(before.every((c) => / rollout 1 running$/.test(c))).toBe(true)
  expect(await bodies()).toEqual(['v1', 'v1'])
}

describe('release command against real dockerd and etcd', () => {
  it('a failing release command ends the deploy with exit 20, streams its output, changes nothing and is recorded', async () => {
    const before = await containers()
    const spec = specFile(`${app}-fail`, { ...fast, image: 'demo/myapp:2', release: { command: ['/bin/sh', '-c', 'echo migrating 1 of 2; echo "no such table" >&2; exit 3'] } })
    const res = await forrest(['deploy', spec], env)
    expect(res.code, res.stderr).toBe(EXIT.releaseFailed)
    expect(res.stdout).toContain('release │ migrating 1 of 2')
    expect(res.stdout).toContain('release │ no such table')
    expect(res.stderr).toContain('release command of')
    expect(res.stderr).toContain('exited 3; no instance was started or stopped')
    await expectUntouched(before)
    const hist = await json(['history', app])
    expect(hist.out.currentRevision).toBe(1)
    expect(hist.out.revisions[0]).toMatchObject({ revision: 2, outcome: 'failed', image: 'demo/myapp:2' })
  })

  it('a release command past its timeout is stopped: exit 20, nothing changed, its container removed', async () => {
    const before = await containers()
    const spec = specFile(`${app}-slow`, { ...fast, image: 'demo/myapp:2', release: { command: ['/bin/sh', '-c', 'echo started; sleep 60'], timeout: '1s' } })
    const t0 = Date.now()
    const res = await json(['deploy', spec])
    expect(res.code, res.stderr).toBe(EXIT.releaseFailed)
    expect(Date.now() - t0).toBeLessThan(30_000)
    expect(res.out.error).toMatchObject({ code: 'RELEASE_FAILED', exit: EXIT.releaseFailed, detail: { outcome: 'failed', release: { timedOut: true, output: ['started'] } } })
    expect(res.out.error.message).toContain('timed out after 1s (release.timeout)')
    await expectUntouched(before)
  })

  it('a succeeding release command runs once, with the new image and the secret, before any new instance, while v1 serves; the secret is never printed', async () => {
    migrations.length = 0
    const spec = specFile(`${app}-ok`, {
      ...fast,
      image: 'demo/myapp:2',
      release: { command: ['/bin/sh', '-c', `echo "token is $DB_TOKEN"; wget -q -O- "http://${dbAddress}/migrate?token=$DB_TOKEN&image=$(cat /www/index.html)"`] },
    })
    const diff = await forrest(['diff', spec], env)
    expect(diff.code, diff.stderr).toBe(0)
    expect(diff.stdout).toContain('release command ["/bin/sh","-c",')
    expect(diff.stdout).toContain('runs first, once, in the new image')
    expect(migrations).toHaveLength(0)
    const res = await json(['deploy', spec])
    expect(res.code, res.stderr).toBe(0)
    expect(res.out).toMatchObject({ outcome: 'succeeded', revision: 4, release: { exitCode: 0, timedOut: false, command: ['/bin/sh', '-c', expect.any(String)] } })
    expect(res.out.release.output).toContain('token is ***')
    expect(res.out.release.output).toContain('migrated')
    expect(res.stdout + res.stderr).not.toContain(SECRET)
    // Once, with the new image's files and the secret's value, while only revision 1 existed and served.
    expect(migrations).toHaveLength(1)
    expect(migrations[0]!.url).toBe(`/migrate?token=${SECRET}&image=v2`)
    expect(migrations[0]!.oldBody).toBe('v1')
    const rollouts = migrations[0]!.containers.filter((c) => / rollout /.test(c))
    expect(rollouts).toHaveLength(2)
    expect(rollouts.every((c) => / rollout 1 running$/.test(c))).toBe(true)
    // Every new instance was created after the migration, and the release container is gone.
    const created = (await docker('ps', '-a', '--filter', `label=${appLabel}`, '--filter', 'label=forrest.revision=4', '--format', '{{.Label "forrest.kind"}} {{.CreatedAt}}')).split('\n').filter(Boolean)
    expect(created).toHaveLength(2)
    expect(created.every((c) => c.startsWith('rollout '))).toBe(true)
    expect(await bodies()).toEqual(['v2', 'v2'])
    expect(await docker('ps', '-a', '--filter', `label=${appLabel}`, '--filter', 'label=forrest.kind=release', '-q')).toBe('')
    const hist = await json(['history', app])
    expect(hist.out.revisions[0]).toMatchObject({ revision: 4, outcome: 'succeeded', current: true })
    expect(JSON.stringify(hist.out)).not.toContain(SECRET)
  })

  it('scale and a re-deploy of the same file do not run the release command', async () => {
    migrations.length = 0
    const scaled = await forrest(['scale', app, '3'], env)
    expect(scaled.code, scaled.stderr).toBe(0)
    const again = await forrest(['deploy', specFile(`${app}-ok3`, { ...fast, replicas: 3, image: 'demo/myapp:2', release: { command: ['/bin/sh', '-c', `wget -q -O- "http://${dbAddress}/migrate"`] } })], env)
    // A changed release command is a new revision: it runs once for that one.
    expect(again.code, again.stderr).toBe(0)
    expect(migrations).toHaveLength(1)
    const same = await forrest(['deploy', specFile(`${app}-ok4`, { ...fast, replicas: 3, image: 'demo/myapp:2', release: { command: ['/bin/sh', '-c', `wget -q -O- "http://${dbAddress}/migrate"`] } })], env)
    expect(same.code, same.stderr).toBe(0)
    expect(same.stdout).toContain('is up to date')
    expect(migrations).toHaveLength(1)
  })
})

/**
 * The release command and `forrest run` get the revision's container settings (#25, #26): a
 * migration reaches the database by name on the app's user network (here the second network,
 * joined by connect before start) and writes to the app's named volume, which the new revision's
 * instances and a `forrest run` container then read.
 */
describe('release command and forrest run with the container settings', () => {
  const tag = run.id.slice(-6)
  const appS = `rs${tag}`
  const front = `fr-a-${tag}`
  const back = `fr-b-${tag}`
  const volume = `fr-vol-${tag}`

  beforeAll(async () => {
    await docker('network', 'create', '--label', run.label, front)
    await docker('network', 'create', '--label', run.label, back)
    await docker('run', '-d', '--name', `fr-db-${tag}`, '--label', run.label, '--network', back, '--network-alias', 'db', 'demo/myapp:2')
  })

  afterAll(async () => {
    await removeByLabel(run.label)
    await docker('network', 'rm', front, back).catch(() => undefined)
    await docker('volume', 'rm', volume).catch(() => undefined)
  })

  it('the release command reaches db by name on the app network and writes the volume the new revision and forrest run read', async () => {
    const spec = specFile(`${appS}-v1`, {
      ...fast,
      name: appS,
      replicas: 1,
      image: 'demo/myapp:1',
      container: { networks: [front, back], volumes: [`${volume}:/data`] },
      release: { command: ['/bin/sh', '-c', 'wget -q -O- http://db:8080/ > /data/migrated && echo "migrated to $(cat /data/migrated)"'] },
    })
    const res = await json(['deploy', spec])
    expect(res.code, res.stderr).toBe(0)
    expect(res.out.release).toMatchObject({ exitCode: 0, output: ['migrated to v2'] })
    const [instance] = (await docker('ps', '--filter', `label=forrest.app=${appS}`, '--filter', 'label=forrest.kind=rollout', '--format', '{{.Names}}')).split('\n').filter(Boolean)
    expect(await docker('exec', instance!, 'cat', '/data/migrated')).toBe('v2')
    const one = await forrest(['run', appS, '--', '/bin/sh', '-c', 'cat /data/migrated; wget -q -O- http://db:8080/'], env)
    expect(one.code, one.stderr).toBe(0)
    expect(one.stdout.trim().split('\n')).toEqual(['v2', 'v2'])
    expect(await docker('ps', '-a', '--filter', `label=forrest.app=${appS}`, '--filter', 'label=forrest.kind=run', '-q')).toBe('')
  })
})
