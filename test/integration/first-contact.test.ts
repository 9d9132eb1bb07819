import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createH2Server, type Http2Server } from 'node:http2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { forrest, testRun } from '../helpers/cli.js'
import { freePort } from '../helpers/etcd.js'

const run = testRun('first-contact')

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
