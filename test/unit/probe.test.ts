import { getEventListeners } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import type { ContainerRuntime } from '../../src/docker/runtime.js'
import { dockerHealthProbe, httpCheck } from '../../src/health/probe.js'

/** A runtime whose container turns healthy after `after` inspections; nothing else is called. */
const runtimeHealthyAfter = (after: number) => {
  let calls = 0
  return { inspect: async () => ({ running: true, health: ++calls > after ? 'healthy' : 'starting' }) } as unknown as ContainerRuntime
}

describe('readiness probes', () => {
  it('leave no abort listener behind on the rollout-wide signal, however many polls they make', async () => {
    const signal = new AbortController().signal
    const spec = { type: 'docker' as const, path: '/', status: 200, interval: 1, timeout: 100, successes: 30, deadline: 10_000 }
    await dockerHealthProbe(runtimeHealthyAfter(5), spec).waitUntilHealthy({ containerId: 'c', name: 'n', address: '-' }, signal)
    expect(getEventListeners(signal, 'abort')).toHaveLength(0)
  })
})

describe('httpCheck', () => {
  it('wants the exact status on the path, follows no redirect (as HAProxy), and reports why it failed', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/slow') return // never answers
      if (req.url === '/moved') res.writeHead(301, { location: '/ok' })
      else res.writeHead(req.url === '/ok' ? 200 : 503)
      res.end('body')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`
    const check = (path: string, status = 200, timeout = 1000) => httpCheck(address, { path, status, timeout })
    try {
      expect(await check('/ok')).toEqual({ ok: true, detail: 'HTTP 200' })
      expect(await check('/down')).toEqual({ ok: false, detail: 'HTTP 503' })
      expect(await check('/moved')).toEqual({ ok: false, detail: 'HTTP 301' })
      expect(await check('/moved', 301)).toEqual({ ok: true, detail: 'HTTP 301' })
      expect(await check('/slow', 200, 50)).toEqual({ ok: false, detail: 'TimeoutError' })
    } finally {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    }
    expect(await check('/ok')).toEqual({ ok: false, detail: 'ECONNREFUSED' })
  })

  const serve = async (handler: Parameters<typeof createServer>[1]) => {
    const srv = createServer(handler)
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    return { address: `127.0.0.1:${(srv.address() as AddressInfo).port}`, close: () => new Promise((r) => srv.close(r)) }
  }
  const spec = { path: '/health', status: 200, timeout: 300 }

  it('passes on the expected status, after reading the body', async () => {
    const srv = await serve((req, res) => res.end(req.url === '/health' ? 'ok' : 'no'))
    expect(await httpCheck(srv.address, spec)).toEqual({ ok: true, detail: 'HTTP 200' })
    await srv.close()
  })

  it('fails on another status, a refused connection, a reset, or no answer in time', async () => {
    const srv = await serve((req, res) => {
      if (req.url === '/health') {
        res.statusCode = 503
        res.end()
      } else if (req.url === '/reset') req.socket.destroy()
      // /hang: never answers
    })
    expect(await httpCheck(srv.address, spec)).toEqual({ ok: false, detail: 'HTTP 503' })
    expect(await httpCheck(srv.address, { ...spec, path: '/reset' })).toEqual({ ok: false, detail: 'ECONNRESET' })
    const t0 = Date.now()
    expect(await httpCheck(srv.address, { ...spec, path: '/hang' })).toEqual({ ok: false, detail: 'TimeoutError' })
    expect(Date.now() - t0).toBeLessThan(1000)
    srv.close()
    const gone = await serve(() => undefined)
    await gone.close()
    expect(await httpCheck(gone.address, spec)).toEqual({ ok: false, detail: 'ECONNREFUSED' })
  })
})

describe('worker probes', () => {
  const spec = { type: 'command' as const, path: '/', status: 200, interval: 1, timeout: 100, successes: 2, deadline: 300, command: ['check'] }
  it('health.command: healthy after `successes` exits 0 in a row; at the deadline it names the last exit and output', async () => {
    const { commandProbe } = await import('../../src/health/probe.js')
    const codes = [1, 0, 1, 0, 0]
    const runs: string[][] = []
    const ok = { inspect: async () => ({ running: true }), exec: async (_: string, cmd: string[]) => (runs.push(cmd), { exitCode: codes.shift() ?? 0, output: 'fine\n' }) } as unknown as ContainerRuntime
    await commandProbe(ok, spec).waitUntilHealthy({ containerId: 'c', name: 'w', address: '' })
    expect(runs).toHaveLength(5)
    const failing = { inspect: async () => ({ running: true }), exec: async () => ({ exitCode: 3, output: 'queue unreachable\n' }) } as unknown as ContainerRuntime
    await expect(commandProbe(failing, spec).waitUntilHealthy({ containerId: 'c', name: 'w', address: '' })).rejects.toThrow('w was not healthy within 300ms (last probe: health command exit 3: queue unreachable)')
  })

  it('health.running: healthy only once running that long since it started, without a restart', async () => {
    const { runningForProbe } = await import('../../src/health/probe.js')
    const started = Date.now()
    const rt = { inspect: async () => ({ running: true, restartCount: 0, startedAt: new Date(started) }) } as unknown as ContainerRuntime
    const { ms } = await runningForProbe(rt, { ...spec, type: 'none', interval: 5, deadline: 1000, running: 60 }).waitUntilHealthy({ containerId: 'c', name: 'w', address: '' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(60)
    expect(ms).toBeLessThan(1000)
  })
})
