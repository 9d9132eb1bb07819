/**
 * Several deployment files at once (`forrest deploy DIR`, `forrest deploy a.yml b.yml`): a
 * directory stands for its *.yml and *.yaml files (not its subdirectories), sorted by name. Every
 * file is read and validated before any is deployed, and the problems of all of them are
 * reported together, so a bad file found late never leaves the apps before it deployed.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ForrestError } from '../errors.js'
import { INVENTORY_FILE } from './inventory.js'
import { loadSpecFile } from './load.js'
import type { DeploymentSpec } from './types.js'

export interface SpecFile {
  file: string
  spec: DeploymentSpec
}

const SPEC_FILE = /\.ya?ml$/

/** Whether the paths name several apps: more than one path, or a directory. */
export async function namesSeveralApps(paths: readonly string[]): Promise<boolean> {
  if (paths.length !== 1) return true
  return (await stat(paths[0]!).catch(() => undefined))?.isDirectory() ?? false
}

/** The files the paths stand for, in the order given (a directory's sorted by name). */
export async function listSpecFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = []
  for (const path of paths) {
    if (!(await stat(path).catch(() => undefined))?.isDirectory()) {
      out.push(path)
      continue
    }
    const entries = await readdir(path, { withFileTypes: true })
    // The shared inventory beside the deployment files is not an app.
    const files = entries.filter((e) => e.isFile() && SPEC_FILE.test(e.name) && e.name !== INVENTORY_FILE).map((e) => join(path, e.name)).sort()
    if (files.length === 0) {
      throw new ForrestError('BAD_INPUT', `${path} holds no deployment file (*.yml, *.yaml); nothing was changed`, { suggestion: 'Pass a directory of deployment files, or the files themselves.' })
    }
    out.push(...files)
  }
  return [...new Set(out)]
}

/** Every file loaded and validated; the problems of all of them in one error (exit 2). */
export async function loadSpecSet(paths: readonly string[], opts: { inventory?: string } = {}): Promise<SpecFile[]> {
  const files = await listSpecFiles(paths)
  const loaded = await Promise.all(files.map((file) => loadSpecFile(file, opts).then((spec) => ({ file, spec }), (err: unknown) => ({ file, err }))))
  const failed = loaded.filter((l): l is { file: string; err: unknown } => 'err' in l)
  if (failed.length === 0) return loaded as SpecFile[]
  const errors = failed.map((f) => (f.err instanceof ForrestError ? f.err : new ForrestError('BAD_INPUT', String(f.err))))
  throw new ForrestError(errors.every((e) => e.code === 'INVALID_SPEC') ? 'INVALID_SPEC' : 'BAD_INPUT', `${failed.length} of ${files.length} deployment files ${failed.length === 1 ? 'is' : 'are'} invalid; nothing was changed, no app of the set was deployed:\n${errors.map((e) => e.message).join('\n')}`, {
    suggestion: errors[0]!.suggestion,
    detail: { files: failed.map((f, i) => ({ file: f.file, code: errors[i]!.code, message: errors[i]!.message, detail: errors[i]!.detail })) },
  })
}
