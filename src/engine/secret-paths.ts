import { realpathSync } from 'node:fs'
import { delimiter, dirname, isAbsolute, relative, resolve } from 'node:path'
import { ForrestError } from '../errors.js'
import { isSecretRef } from '../spec/secrets.js'
import type { DeploymentSpec } from '../spec/types.js'

/**
 * Where secret files may be read from: below the deployment file's folder, or below a directory
 * the job allows explicitly with FORREST_SECRETS_DIR (several separated by ":"). Whoever can edit
 * a deployment file must not be able to hand the job's other files (/etc/shadow, ~/.ssh, the
 * registry password file) to a container: absolute paths, ".." and symlinks that leave the
 * allowed directories are refused before anything is read or touched.
 */
export function checkSecretPaths(spec: Pick<DeploymentSpec, 'env' | 'envFile'>, specFile: string, env: NodeJS.ProcessEnv): void {
  const base = realOrSelf(dirname(resolve(specFile)))
  const extra = (env.FORREST_SECRETS_DIR ?? '').split(delimiter).filter(Boolean).map((d) => realOrSelf(resolve(d)))
  const roots = [base, ...extra]
  const refs: Array<[field: string, path: string]> = Object.entries(spec.env).flatMap(([k, v]) => (isSecretRef(v) && 'fromFile' in v ? [[`env.${k}`, v.fromFile] as [string, string]] : []))
  if (spec.envFile) refs.push(['envFile', spec.envFile])
  for (const [field, path] of refs) {
    const abs = resolve(base, path)
    const refuse = (why: string) =>
      new ForrestError('BAD_INPUT', `${specFile}: ${field}: ${path} ${why}; secret files are read only below ${roots.join(' or ')}. Nothing was read or changed`, {
        suggestion: `Put the file below ${base} (the deployment file's folder), or allow its directory explicitly: FORREST_SECRETS_DIR=${dirname(abs)}`,
      })
    if (!roots.some((r) => inside(abs, r))) throw refuse('is outside the allowed directories')
    const real = realOrUndefined(abs)
    // A missing file is reported when it is read, with its own message.
    if (real !== undefined && !roots.some((r) => inside(real, r))) throw refuse(`is a symlink that leaves the allowed directories (to ${real})`)
  }
}

const inside = (path: string, root: string) => {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

function realOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path)
  } catch {
    return undefined
  }
}

const realOrSelf = (path: string) => realOrUndefined(path) ?? path
