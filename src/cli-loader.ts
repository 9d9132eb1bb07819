import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import Module from 'node:module'
import { homedir, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import vm from 'node:vm'

/**
 * What bin/run.js runs. Node builtins only: this file is loaded on every start, before anything
 * else, so it must cost nothing.
 *
 * With a current bundle (dist/forrest.cjs from `npm run build`, see chooseEntry) the CLI runs
 * from that one file instead of ~1,500 modules. It is
 * compiled with a V8 code cache kept per command in the user's cache directory, so a command
 * that ran before skips most of its compiling. Without one (only `tsc` ran, or src/ changed
 * since), oclif runs over dist/ as before. FORREST_BUNDLE=0
 * forces that; FORREST_BUNDLE=1 fails rather than fall back; FORREST_CODE_CACHE=0 turns the
 * cache off.
 */
export async function runCli(binUrl: string, env: NodeJS.ProcessEnv = process.env, argv = process.argv.slice(2)): Promise<void> {
  const root = join(dirname(fileURLToPath(binUrl)), '..')
  const choice = chooseEntry(root, env)
  if (choice.kind === 'bundle') return runBundle(root, choice.file, env, argv)
  if (env.FORREST_BUNDLE === '1') throw new Error(`FORREST_BUNDLE=1 but ${choice.why}: run npm run build`)
  const { execute } = await import('@oclif/core')
  await execute({ dir: binUrl })
}

export type Entry = { kind: 'bundle'; file: string } | { kind: 'dist'; why: string }

/**
 * The bundle, unless in a source checkout a file in src/ changed after it was built: then it
 * would run old code, while `tsc` alone (what tests and editors run) has brought dist/ up to date.
 * An installed package has no src/ (and npm gives its files arbitrary times), so this costs it nothing.
 */
export function chooseEntry(root: string, env: NodeJS.ProcessEnv): Entry {
  const file = join(root, 'dist', 'forrest.cjs')
  if (env.FORREST_BUNDLE === '0') return { kind: 'dist', why: 'FORREST_BUNDLE=0' }
  if (!existsSync(file)) return { kind: 'dist', why: 'there is no dist/forrest.cjs' }
  const src = join(root, 'src')
  if (existsSync(src) && newestMtime(src) > statSync(file).mtimeMs) return { kind: 'dist', why: 'src/ changed after dist/forrest.cjs was built' }
  return { kind: 'bundle', file }
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)
  }
  return newest
}

interface BundleExports {
  run(root: string, bundle: string, pjson: unknown): Promise<unknown>
}

async function runBundle(root: string, file: string, env: NodeJS.ProcessEnv, argv: string[]): Promise<void> {
  // oclif requires its command registry by path: the module registered here is the one it gets.
  const real = realpathSync(file)
  const mod = new Module(real) as Module & { filename: string; paths: string[]; loaded: boolean }
  mod.filename = real
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(real))
  const source = readFileSync(real, 'utf8')
  const cache = codeCachePath(real, argv, env)
  let cachedData: Buffer | undefined
  try {
    if (cache) cachedData = readFileSync(cache)
  } catch {
    // no cache yet
  }
  const script = new vm.Script(Module.wrap(source), {
    filename: real,
    cachedData,
    // oclif's loader may import() an ESM plugin: resolve it as the main context would.
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const fn = script.runInThisContext() as (...a: unknown[]) => void
  fn.call(mod.exports, mod.exports, createRequire(real), mod, real, dirname(real))
  mod.loaded = true
  ;(Module as unknown as { _cache: Record<string, Module> })._cache[real] = mod
  if (cache && (!cachedData || script.cachedDataRejected)) {
    // After a successful run the cache holds every function this command compiled.
    process.once('exit', (code) => {
      if (code === 0) writeCodeCache(cache, script)
    })
  }
  const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  await (mod.exports as BundleExports).run(root, relative(root, real), pjson)
}

/**
 * One cache file per command (what `forrest status` compiles is not what `deploy` does), named by
 * the bundle's identity and Node's version: V8 checks only the source length, so a rebuilt bundle
 * of the same size must not find the old cache.
 */
export function codeCachePath(bundle: string, argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  if (env.FORREST_CODE_CACHE === '0' || !vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER) return undefined
  const st = statSync(bundle)
  const command = /^[a-z][a-z-]*$/.test(argv[0] ?? '') ? argv[0] : 'none'
  const dir = env.FORREST_CACHE_DIR || join(env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : tmpdir()), 'forrest')
  return join(dir, `${cacheIdentity(st)}${command}.bin`)
}

const cacheIdentity = (st: { size: number; mtimeMs: number; ino: number }) => `v8-${process.version}-${process.arch}-${st.size}-${Math.round(st.mtimeMs)}-${st.ino}-`

function writeCodeCache(file: string, script: vm.Script): void {
  try {
    mkdirSync(dirname(file), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, script.createCachedData())
    renameSync(tmp, file) // atomic: a concurrent run reads the old file or the new one, never half
    // v8-<node>-<arch>-<size>-<mtime>-<ino>-<command>.bin: the first six fields name this build.
    pruneCodeCaches(dirname(file), `${file.slice(dirname(file).length + 1).split('-').slice(0, 6).join('-')}-`, Date.now())
  } catch {
    // a read-only or missing home: run without a cache
  }
}

/**
 * Every build makes new cache files (~1-2 MB per command): those of other builds go once they are
 * an hour old, so a checkout rebuilt all day does not fill the disk, and two installs used in
 * turn rebuild their caches at most hourly.
 */
export function pruneCodeCaches(dir: string, keepPrefix: string, now: number): void {
  for (const name of readdirSync(dir)) {
    if (!/^v8-.*\.bin$/.test(name) || name.startsWith(keepPrefix)) continue
    const p = join(dir, name)
    if (now - statSync(p).mtimeMs > 3_600_000) rmSync(p, { force: true })
  }
}
