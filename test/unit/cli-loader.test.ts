import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { chooseEntry, codeCachePath, pruneCodeCaches } from '../../src/cli-loader.js'

/** A package root with dist/forrest.cjs (the bundle) and maybe src/ (a checkout), files at given times. */
function root(files: { bundle?: number; src?: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'forrest-loader-'))
  mkdirSync(join(dir, 'dist'), { recursive: true })
  const put = (rel: string, at: number) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    writeFileSync(join(dir, rel), '// x')
    utimesSync(join(dir, rel), at, at)
  }
  if (files.bundle !== undefined) put('dist/forrest.cjs', files.bundle)
  if (files.src !== undefined) {
    put('src/a.ts', 500)
    put('src/commands/b.ts', files.src)
  }
  return dir
}

describe('which build bin/run.js runs', () => {
  it('the bundle when nothing in src/ changed after it was built, or there is no src/ (an installed package)', () => {
    expect(chooseEntry(root({ bundle: 2000, src: 1000 }), {})).toMatchObject({ kind: 'bundle' })
    expect(chooseEntry(root({ bundle: 2000 }), {})).toMatchObject({ kind: 'bundle' })
  })

  it('the tsc build when the bundle is missing, older than a source file (it would run old code), or turned off', () => {
    expect(chooseEntry(root({ src: 1000 }), {})).toEqual({ kind: 'dist', why: 'there is no dist/forrest.cjs' })
    expect(chooseEntry(root({ bundle: 1000, src: 2000 }), {})).toEqual({ kind: 'dist', why: 'src/ changed after dist/forrest.cjs was built' })
    expect(chooseEntry(root({ bundle: 2000 }), { FORREST_BUNDLE: '0' })).toMatchObject({ kind: 'dist' })
  })
})

describe('the V8 code cache file', () => {
  const dir = root({ bundle: 2000 })
  const bundle = join(dir, 'dist', 'forrest.cjs')
  const env = { FORREST_CACHE_DIR: join(dir, 'cache') }

  it('is one per command, in the cache directory', () => {
    const deploy = codeCachePath(bundle, ['deploy', 'x.yml'], env)!
    expect(deploy.startsWith(join(dir, 'cache'))).toBe(true)
    expect(deploy).toMatch(/-deploy\.bin$/)
    expect(codeCachePath(bundle, ['status'], env)).toMatch(/-status\.bin$/)
    expect(codeCachePath(bundle, ['--version'], env)).toMatch(/-none\.bin$/)
    expect(codeCachePath(bundle, [], { XDG_CACHE_HOME: '/x/cache' })).toMatch(/^\/x\/cache\/forrest\//)
  })

  it('changes with the bundle (V8 itself checks only the source length), and can be turned off', () => {
    const before = codeCachePath(bundle, ['deploy'], env)
    utimesSync(bundle, 3000, 3000)
    expect(codeCachePath(bundle, ['deploy'], env)).not.toBe(before)
    expect(codeCachePath(bundle, ['deploy'], { ...env, FORREST_CODE_CACHE: '0' })).toBeUndefined()
  })
})

describe('pruning code caches', () => {
  it("removes other builds' caches once they are an hour old, never this build's", () => {
    const dir = mkdtempSync(join(tmpdir(), 'forrest-cache-'))
    const now = Date.now()
    const put = (name: string, ageMs: number) => {
      writeFileSync(join(dir, name), 'x')
      utimesSync(join(dir, name), (now - ageMs) / 1000, (now - ageMs) / 1000)
    }
    put('v8-v20-x64-10-1-1-deploy.bin', 5 * 3_600_000) // this build, old: kept
    put('v8-v20-x64-10-2-1-deploy.bin', 2 * 3_600_000) // another build, old: removed
    put('v8-v20-x64-10-3-1-status.bin', 60_000) // another build, recent: kept
    put('notes.txt', 9 * 3_600_000) // not ours: kept
    pruneCodeCaches(dir, 'v8-v20-x64-10-1-1-', now)
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'v8-v20-x64-10-1-1-deploy.bin', 'v8-v20-x64-10-3-1-status.bin'])
  })
})
