import { spawn } from 'node:child_process'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { containersWithLabel, docker, forrest, httpGet, removeByLabel, testRun } from '../helpers/cli.js'
import { pollUntil, startEtcd, type TestEtcd } from '../helpers/etcd.js'

const run = testRun('launch')
let etcd: TestEtcd
let client: Etcd3

beforeAll(async () => {
  etcd = await startEtcd()
  client = new Etcd3({ hosts: `http://${etcd.endpoint}` })
})

afterAll(async () => {
  await removeByLabel(run.label)
  client?.close()
  await etcd?.stop()
})

const keysUnderPrefix = async () => client.getAll().prefix(`/${run.prefix}/`).strings()

describe('forrest launch / stop against real dockerd and etcd', () => {
  it('launch announces ip:port, the app answers there, and stop withdraws before stopping', async () => {
    const env = run.env(etcd.endpoint)
    const launched = await forrest(['launch', 'demo/myapp:1'], env)
    expect(launched.code, launched.stderr).toBe(0)
    const m = /demo\/myapp running on Port (\d+) with name (\S+)/.exec(launched.stdout)
    expect(m, launched.stdout).not.toBeNull()
    const [, port, name] = m!
    expect(launched.stdout).toContain('Launching demo/myapp:1 on 127.0.0.1 ...')
    expect(launched.stdout).toContain(`Announcing to ${etcd.endpoint} ...`)

    const key = `/${run.prefix}/${name}`
    expect(await client.get(key).string()).toBe(`127.0.0.1:${port}`)
    await pollUntil(async () => (await httpGet(`127.0.0.1:${port}`)).body === 'v1', { what: 'app answering on announced address' })

    // Record when the key disappears and when Docker kills the container: withdraw comes first.
    let withdrawnAt = 0
    const watcher = await client.watch().key(key).create()
    watcher.on('delete', () => (withdrawnAt = Date.now()))
    const since = String(Math.floor(Date.now() / 1000) - 1)

    const stopped = await forrest(['stop', name!], env)
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(stopped.stdout).toMatch(new RegExp(`Stopping ${name} \\.\\.\\.\\nFound container [0-9a-f]{12} \\.\\.\\.\\nStopped\\.`))
    await pollUntil(() => withdrawnAt > 0, { what: 'the delete event' })
    await watcher.cancel()
    // Docker's own record of when it sent the kill signal, read after the fact (no race).
    const killedAtNs = (await docker('events', '--since', since, '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', `container=${name}`, '--filter', 'event=kill', '--format', '{{.TimeNano}}')).split('\n')[0]!
    expect(killedAtNs).toMatch(/^\d+$/)
    expect(withdrawnAt).toBeLessThanOrEqual(Number(BigInt(killedAtNs) / 1_000_000n))
    expect(await client.get(key).string()).toBeNull()
    expect(await docker('ps', '-aq', '--filter', `name=^${name}$`)).toBe('')
  })

  it('launch --json with --name, --port and -e returns the result as data', async () => {
    const env = run.env(etcd.endpoint)
    const res = await forrest(['launch', 'demo/myapp:2', '--name', `${run.id}-json`, '--port', '8080', '-e', 'A=1', '--json'], env)
    expect(res.code, res.stderr).toBe(0)
    const out = JSON.parse(res.stdout)
    expect(out).toMatchObject({ name: `${run.id}-json`, key: `/${run.prefix}/${run.id}-json`, image: 'demo/myapp:2' })
    expect(await client.get(out.key).string()).toBe(out.address)
    expect((await httpGet(out.address)).body).toBe('v2')
    expect(await docker('inspect', '-f', '{{range .Config.Env}}{{println .}}{{end}}', out.name)).toContain('A=1')
    expect(await docker('inspect', '-f', '{{.HostConfig.Init}}', out.name)).toBe('true')

    const stopped = await forrest(['stop', out.name, '--json'], env)
    expect(stopped.code).toBe(0)
    expect(JSON.parse(stopped.stdout)).toMatchObject({ name: out.name, withdrawn: true })
  })

  it('forrest status lists launch containers (as the README says), and they do not make it fail', async () => {
    const env = run.env(etcd.endpoint)
    const name = `${run.id}-listed`
    const launched = await forrest(['launch', 'demo/myapp:1', '--name', name, '--json'], env)
    expect(launched.code, launched.stderr).toBe(0)
    const { address } = JSON.parse(launched.stdout) as { address: string }
    const human = await forrest(['status'], env)
    expect(human.code, human.stdout + human.stderr).toBe(0)
    expect(human.stdout).toContain('Started with forrest launch (not managed by deploy; forrest stop NAME removes one):')
    expect(human.stdout).toMatch(new RegExp(`${name}\\s.*demo/myapp:1\\s.*running\\s.*${address}\\s.*yes`))
    const json = JSON.parse((await forrest(['status', '--json'], env)).stdout) as { launched: Array<Record<string, unknown>> }
    expect(json.launched).toEqual([expect.objectContaining({ name, image: 'demo/myapp:1', state: 'running', address, registered: true })])
    expect((await forrest(['stop', name], env)).code).toBe(0)
    expect((await forrest(['status'], env)).stdout).not.toContain(name)
  })

  describe('errors: message, exit code, and nothing left behind', () => {
    const nothingLeft = async () => {
      expect(await containersWithLabel(run.label)).toEqual([])
      expect(await keysUnderPrefix()).toEqual({})
    }

    it('etcd unreachable', async () => {
      const res = await forrest(['launch', 'demo/myapp:1'], run.env('127.0.0.1:1'))
      expect(res.code).toBe(EXIT.etcdUnreachable)
      expect(res.stderr).toContain('ETCD_UNREACHABLE')
      expect(res.stderr).toContain('127.0.0.1:1')
      await nothingLeft()
    })

    it('Docker unreachable', async () => {
      const res = await forrest(['launch', 'demo/myapp:1'], run.env(etcd.endpoint, { DOCKER_HOST: 'unix:///nonexistent/docker.sock' }))
      expect(res.code).toBe(EXIT.dockerUnreachable)
      expect(res.stderr).toContain('DOCKER_UNREACHABLE')
      await nothingLeft()
    })

    it('image not found names the image', async () => {
      const res = await forrest(['launch', 'demo/nosuch:9'], run.env(etcd.endpoint))
      expect(res.code).toBe(EXIT.notFound)
      expect(res.stderr).toContain('image "demo/nosuch:9" is not on the local Docker engine, and forrest launch does not pull; nothing was started or changed')
      await nothingLeft()
    })

    it('name already taken leaves the existing container alone', async () => {
      const env = run.env(etcd.endpoint)
      const first = await forrest(['launch', 'demo/myapp:1', '--name', `${run.id}-taken`, '--json'], env)
      expect(first.code).toBe(0)
      const second = await forrest(['launch', 'demo/myapp:1', '--name', `${run.id}-taken`], env)
      expect(second.code).toBe(EXIT.conflict)
      expect(second.stderr).toContain('NAME_TAKEN')
      expect(await containersWithLabel(run.label)).toHaveLength(1)
      expect(Object.keys(await keysUnderPrefix())).toEqual([`/${run.prefix}/${run.id}-taken`])
      expect((await forrest(['stop', `${run.id}-taken`], env)).code).toBe(0)
      await nothingLeft()
    })

    it('an image exposing no port needs --port', async () => {
      const tar = await docker('create', '--label', run.label, 'demo/myapp:1')
      await new Promise<void>((resolve, reject) => {
        const exp = spawn('sh', ['-c', `docker export ${tar} | docker import - forrest-test/noport:${run.id} >/dev/null`])
        exp.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`import exited ${c}`))))
      })
      await docker('rm', tar)
      try {
        const res = await forrest(['launch', `forrest-test/noport:${run.id}`], run.env(etcd.endpoint))
        expect(res.code).toBe(EXIT.badInput)
        expect(res.stderr).toContain('exposes no port')
        expect(res.stderr).toContain('--port')
        await nothingLeft()
      } finally {
        await docker('rmi', '-f', `forrest-test/noport:${run.id}`)
      }
    })

    it('stop of an unknown container', async () => {
      const res = await forrest(['stop', `${run.id}-ghost`], run.env(etcd.endpoint))
      expect(res.code).toBe(EXIT.notFound)
      expect(res.stderr).toContain('CONTAINER_NOT_FOUND')
    })

    it('stop refuses a container forrest did not start, and leaves it running', async () => {
      const name = `${run.id}-foreign`
      await docker('run', '-d', '--init', '--name', name, '--label', run.label, 'demo/myapp:1')
      const res = await forrest(['stop', name], run.env(etcd.endpoint))
      expect(res.code).toBe(EXIT.conflict)
      expect(res.stderr).toContain('was not started by forrest')
      expect(await docker('inspect', '-f', '{{.State.Running}}', name)).toBe('true')
      await removeByLabel(run.label)
    })

    it('a bad flag is bad input', async () => {
      const res = await forrest(['launch', 'demo/myapp:1', '--port', 'abc'], run.env(etcd.endpoint))
      expect(res.code).toBe(EXIT.badInput)
      await nothingLeft()
    })
  })
})
