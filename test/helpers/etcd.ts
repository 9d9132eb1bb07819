import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

export interface TestEtcd {
  endpoint: string // host:port
  dataDir: string
  stop(): Promise<void>
  /** Stop and start again on the same port and data (for reconnect tests). */
  restart(): Promise<void>
  /** Stops etcd, keeping its port and data, until resume(). */
  pause(): Promise<void>
  resume(): Promise<void>
}

/** Polls fn until it returns true or the deadline passes; no fixed sleeps in assertions. */
export async function pollUntil(fn: () => Promise<boolean> | boolean, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000)
  let lastErr: unknown
  while (Date.now() < deadline) {
    try {
      if (await fn()) return
    } catch (err) {
      lastErr = err
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50)) // poll interval
  }
  throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${lastErr ? `: ${String(lastErr)}` : ''}`)
}

async function etcdHealthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${endpoint}/health`, { signal: AbortSignal.timeout(500) })
    return res.ok
  } catch {
    return false
  }
}

/** Starts a private etcd (Debian's etcd-server) on free loopback ports with a temp data dir. */
export async function startEtcd(): Promise<TestEtcd> {
  const dataDir = await mkdtemp(join(tmpdir(), 'forrest-etcd-'))
  const clientPort = await freePort()
  const peerPort = await freePort()
  const endpoint = `127.0.0.1:${clientPort}`
  let proc: ChildProcess | undefined

  const start = async () => {
    proc = spawn(
      'etcd',
      [
        '--name', 'test',
        '--data-dir', dataDir,
        '--listen-client-urls', `http://${endpoint}`,
        '--advertise-client-urls', `http://${endpoint}`,
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-cluster', `test=http://127.0.0.1:${peerPort}`,
        // As scripts/dev-stack.sh: history is compacted, as in any etcd that runs for long.
        '--auto-compaction-mode=revision', '--auto-compaction-retention=1000',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let stderr = ''
    proc.stderr?.on('data', (d) => (stderr += d))
    await pollUntil(() => etcdHealthy(endpoint), { timeoutMs: 15_000, what: `etcd on ${endpoint} (${stderr.slice(-500)})` })
  }
  const stopProc = async () => {
    const p = proc
    if (!p || p.exitCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill('SIGTERM')
    await exited
  }
  await start()
  return {
    endpoint,
    dataDir,
    stop: async () => {
      await stopProc()
      await rm(dataDir, { recursive: true, force: true })
    },
    restart: async () => {
      await stopProc()
      await start()
    },
    pause: stopProc,
    resume: start,
  }
}
