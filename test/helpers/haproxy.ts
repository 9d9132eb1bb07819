import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderStarterConfig } from '../../src/gateway/haproxy-config.js'
import { HaproxyRuntime } from '../../src/gateway/haproxy-runtime.js'
import { freePort, pollUntil } from './etcd.js'

export interface TestHaproxy {
  /** http://127.0.0.1:<port> of the frontend. */
  url: string
  /** https://127.0.0.1:<port> when started with tls. */
  httpsUrl?: string
  socket: string
  configPath: string
  runtime: HaproxyRuntime
  /** Current worker pid (from `show info`). */
  workerPid(): Promise<number>
  /** Graceful reload (master-worker SIGUSR2); resolves when a new worker answers on the socket. */
  reload(): Promise<void>
  stop(): Promise<void>
}

/** Response header naming the server that answered (for measuring when an instance first serves). */
export const SERVER_HEADER = 'x-forrest-server'

/**
 * A private HAProxy in master-worker mode (-W, foreground -db) with forrest's starter config:
 * frontend on a free loopback port, admin socket in a temp dir. Every response carries
 * SERVER_HEADER = the HAProxy server (forrest instance) name that answered it.
 */
export async function startHaproxy(opts: { backend?: string; tlsCertDir?: string; /** Sections appended after the starter config (e.g. a second backend). */ extraConfig?: string } = {}): Promise<TestHaproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'forrest-haproxy-'))
  const socket = join(dir, 'admin.sock')
  const port = await freePort()
  const configPath = join(dir, 'haproxy.cfg')
  // The backend is the config's last section, so the header line lands in it.
  const tlsPort = opts.tlsCertDir ? await freePort() : undefined
  const tls = opts.tlsCertDir ? { tls: { certDir: opts.tlsCertDir, bind: `127.0.0.1:${tlsPort}` } } : {}
  const config = renderStarterConfig({ socketPath: socket, frontendBind: `127.0.0.1:${port}`, backend: opts.backend ?? 'app', ...tls })
  await writeFile(configPath, `${config}  http-response set-header ${SERVER_HEADER} %s\n${opts.extraConfig ?? ''}`)
  const runtime = new HaproxyRuntime(socket, 1000)
  let stderr = ''
  const proc: ChildProcess = spawn('haproxy', ['-W', '-db', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] })
  proc.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-2000)))
  const workerPid = async () => (await runtime.info()).pid
  await pollUntil(async () => (await workerPid()) > 0, { timeoutMs: 10_000, what: `haproxy socket ${socket} (${stderr})` })

  return {
    url: `http://127.0.0.1:${port}`,
    ...(tlsPort ? { httpsUrl: `https://127.0.0.1:${tlsPort}` } : {}),
    socket,
    configPath,
    runtime,
    workerPid,
    reload: async () => {
      const before = await workerPid()
      proc.kill('SIGUSR2')
      await pollUntil(async () => (await workerPid()) !== before, { timeoutMs: 10_000, what: `haproxy reload (${stderr})` })
    },
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r))
        proc.kill('SIGTERM')
        await exited
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}
