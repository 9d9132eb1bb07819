import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'

const execFileP = promisify(execFile)

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** A per-test-file identity: the label every container carries and the etcd prefix it uses. */
export function testRun(name: string) {
  const id = `${name}-${randomBytes(3).toString('hex')}`
  return {
    id,
    label: `forrest-test.run=${id}`,
    prefix: `test/${id}`,
    /** Environment for the forrest CLI against a given etcd. */
    env(etcd: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
      return { ...process.env, ETCD_HOST: etcd, ETCD_PREFIX: `test/${id}`, FORREST_IP: '127.0.0.1', FORREST_LABELS: `forrest-test.run=${id}`, CI: 'true', ...extra }
    },
  }
}

/** Runs the built CLI (bin/run.js) and returns its exit code and output; never throws on exit != 0. */
export async function forrest(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/run.js', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })
    })
  })
}

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileP('docker', args)
  return stdout.trim()
}

/** Container ids (running or not) carrying the label. */
export async function containersWithLabel(label: string): Promise<string[]> {
  const out = await docker('ps', '-aq', '--filter', `label=${label}`)
  return out ? out.split('\n') : []
}

/** Removes every container carrying the label: the only cleanup tests do. */
export async function removeByLabel(label: string): Promise<void> {
  const ids = await containersWithLabel(label)
  if (ids.length) await docker('rm', '-f', ...ids)
}

export async function httpGet(address: string, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${address}/`, { signal: AbortSignal.timeout(timeoutMs) })
  return { status: res.status, body: (await res.text()).trim() }
}
