import { spawn } from 'node:child_process'

export interface HookRun {
  exitCode: number
  timedOut: boolean
  /** Set when the program could not be started at all (not found, not executable). */
  error?: string
}

/**
 * Runs one local hook command (an argv list, no shell) in `cwd` with `env`, its stdout and
 * stderr both on forrest's stderr (stdout stays the command's result, e.g. --json). Past the
 * timeout it gets SIGTERM, then SIGKILL 5 s later. Never throws.
 */
/** How long a hook that outlived its timeout gets between SIGTERM and SIGKILL. */
const HOOK_KILL_GRACE_MS = 5000

export function runHook(argv: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<HookRun> {
  return new Promise((resolve) => {
    let timedOut = false
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', process.stderr, process.stderr] })
    const kill = setTimeout(() => { // hooks.timeout: the hook's deadline
      timedOut = true
      child.kill('SIGTERM')
      setTimeout(() => child.kill('SIGKILL'), HOOK_KILL_GRACE_MS).unref() // the deadline after SIGTERM
    }, opts.timeoutMs)
    child.once('error', (err) => {
      clearTimeout(kill)
      resolve({ exitCode: 127, timedOut: false, error: err.message })
    })
    child.once('close', (code, signal) => {
      clearTimeout(kill)
      resolve({ exitCode: code ?? (signal ? 128 : 1), timedOut })
    })
  })
}
