import { spawn, type ChildProcess } from 'node:child_process'
import type { GatewayEvent } from '../../src/gateway/types.js'
import { pollUntil } from './etcd.js'

export interface GatewayCli {
  proc: ChildProcess
  /** Every --json event line, with the time it was read. */
  events: (GatewayEvent & { at: number })[]
  stderr(): string
  /** SIGTERM (revokes its lease), then waits for the exit. */
  stop(): Promise<void>
}

/**
 * `node bin/run.js gateway --socket S --backend B --json` as a child process, the way a user runs
 * it; resolves once it has published its first ack (first settled pass), or with readyOn
 * 'started' once it has said it started.
 */
export async function startGatewayCli(opts: { socket: string; /** null: no --backend (e.g. with --route). */ backend?: string | null; env: NodeJS.ProcessEnv; id?: string; serversFile?: string; readyOn?: 'applied' | 'started'; args?: string[] }): Promise<GatewayCli> {
  const args = ['bin/run.js', 'gateway', '--socket', opts.socket, ...(opts.backend === null ? [] : ['--backend', opts.backend ?? 'app']), '--json']
  if (opts.id) args.push('--id', opts.id)
  if (opts.serversFile) args.push('--servers-file', opts.serversFile)
  if (opts.args) args.push(...opts.args)
  const proc = spawn(process.execPath, args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
  const events: GatewayCli['events'] = []
  let buf = ''
  let stderr = ''
  proc.stdout?.setEncoding('utf8')
  proc.stdout?.on('data', (d: string) => {
    buf += d
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      try {
        const e = JSON.parse(line) as GatewayEvent
        if (e && typeof e === 'object' && 'type' in e) events.push({ ...e, at: Date.now() })
      } catch {
        // the final --json result object spans lines; only events matter here
      }
    }
  })
  proc.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]) // bounded: then SIGKILL
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  }
  try {
    // readyOn 'started': for a gateway that may never ack (e.g. one whose guard keeps servers); the caller checks its ack.
    const ready = opts.readyOn ?? 'applied'
    await pollUntil(() => events.some((e) => e.type === ready) || proc.exitCode !== null, { timeoutMs: 20_000, what: ready === 'applied' ? 'forrest gateway first ack' : 'forrest gateway start' })
    if (proc.exitCode !== null) throw new Error(`forrest gateway exited ${proc.exitCode}: ${stderr}`)
  } catch (err) {
    await stop()
    throw err
  }
  return { proc, events, stderr: () => stderr, stop }
}
