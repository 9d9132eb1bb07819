import { spawn } from 'node:child_process'
import { ForrestError } from '../errors.js'

/**
 * `docker-credential-<helper> get`, the docker CLI's credential helper protocol: the server
 * address on stdin, {"ServerURL","Username","Secret"} on stdout; "credentials not found" (exit 1)
 * means none. Undefined when the helper has none. The secret is returned, never logged.
 */
export async function runCredentialHelper(helper: string, serverAddress: string, registry: string, timeoutMs = 15_000): Promise<{ username: string; secret: string } | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) throw helperError(helper, registry, 'its name is not a plain program name')
  const program = `docker-credential-${helper}`
  const { code, stdout, stderr, spawnError } = await new Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: NodeJS.ErrnoException }>((resolve) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout: out, stderr: err, spawnError: e }))
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }))
    child.stdin.on('error', () => undefined) // a helper that exits without reading
    child.stdin.end(serverAddress)
  })
  if (spawnError) throw helperError(helper, registry, spawnError.code === 'ENOENT' ? `${program} is not installed (not on PATH)` : spawnError.message)
  if (code !== 0) {
    // The protocol prints "credentials not found" on stdout; that phrase is all stdout is read
    // for here. Anything else it printed may be the secret: only stderr is quoted.
    if (/credentials not found/i.test(`${stdout}\n${stderr}`)) return undefined
    const why = stderr.trim().split('\n')[0]!.slice(0, 200)
    throw helperError(helper, registry, `${program} get exited ${code}${why ? `: ${why}` : ' (its output is not shown: it may hold the secret)'}`)
  }
  let parsed: { Username?: string; Secret?: string }
  try {
    parsed = JSON.parse(stdout) as typeof parsed
  } catch {
    throw helperError(helper, registry, `${program} get did not print JSON`)
  }
  if (!parsed.Secret) return undefined
  return { username: parsed.Username ?? '', secret: parsed.Secret }
}

function helperError(helper: string, registry: string, why: string): ForrestError {
  return new ForrestError('REGISTRY_AUTH_FAILED', `credentials for ${registry} come from the credential helper "${helper}" (docker config.json), which failed: ${why}`, {
    suggestion: `Install or fix docker-credential-${helper}, or set FORREST_REGISTRY_SERVER=${registry} with FORREST_REGISTRY_USER and FORREST_REGISTRY_PASSWORD_FILE for this job.`,
  })
}
