import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { ForrestError } from '../../src/errors.js'
import { MAX_SPEC_BYTES, loadSpec, loadSpecBytes, loadSpecFile, type SpecProblem } from '../../src/spec/index.js'

const FILE = 'deploy.yml'
const MINIMAL = 'name: web\nimage: nginx:1\n'

function rejection(load: () => unknown): ForrestError {
  try {
    load()
  } catch (err) {
    expect(err).toBeInstanceOf(ForrestError)
    return err as ForrestError
  }
  throw new Error('expected the spec to be rejected')
}

const problemsOf = (error: ForrestError) => (error.detail as { problems: SpecProblem[] }).problems

/** Rejected as INVALID_SPEC (exit 2) with exactly one problem, which is returned. */
function onlyProblem(load: () => unknown): SpecProblem {
  const error = rejection(load)
  expect(error).toMatchObject({ code: 'INVALID_SPEC', exit: 2 })
  expect(problemsOf(error)).toHaveLength(1)
  return problemsOf(error)[0]!
}

/**
 * Wall time of `fn` (it may throw): the best of three runs, in ms: the bound is about the work (linear, not quadratic), and a loaded
 * 2-core machine (other test files, CI neighbours) can stall any one run.
 */
function timed(fn: () => unknown): number {
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < 3; i++) {
    const started = performance.now()
    try {
      fn()
    } catch {
      // only the time matters here
    }
    best = Math.min(best, performance.now() - started)
    if (best < 250) break // clearly within any bound: no need to run again
  }
  return best
}

describe('files that are not YAML text', () => {
  const utf16le = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
  const utf16be = (text: string) => Buffer.from(utf16le(text).map((_, i, b) => b[i ^ 1]!))

  it.each([
    ['UTF-16 LE with a byte order mark', utf16le(MINIMAL), /UTF-16.*save it as UTF-8/],
    ['UTF-16 BE with a byte order mark', utf16be(MINIMAL), /UTF-16.*save it as UTF-8/],
    ['UTF-16 LE without a byte order mark', Buffer.from(MINIMAL, 'utf16le'), /UTF-16.*save it as UTF-8/],
    ['gzip', gzipSync(MINIMAL), /gzip-compressed.*gunzip/],
    ['zip', Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(40)]), /zip archive/],
    ['a binary file', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]), /binary/],
  ])('%s: says what the file looks like', (_, bytes, message) => {
    const problem = onlyProblem(() => loadSpecBytes(bytes, FILE))
    expect(problem).toMatchObject({ file: FILE, line: 1, col: 1, path: '(root)' })
    expect(problem.message).toMatch(message)
    expect(problem.message).not.toMatch(/expected a mapping/)
  })

  it('rejects bytes that are not UTF-8, naming the line, column and byte', () => {
    const latin1 = Buffer.concat([Buffer.from('name: web\nimage: nginx:1\nenv:\n  GREETING: caf'), Buffer.from([0xe9]), Buffer.from('\n')])
    const problem = onlyProblem(() => loadSpecBytes(latin1, FILE))
    expect(problem).toMatchObject({ line: 4, col: 16, path: '(root)' })
    expect(problem.message).toMatch(/not UTF-8: byte 0xE9 at offset 45.*save the file as UTF-8/)
  })

  it('rejects control characters, which YAML does not allow and a container would receive', () => {
    const problem = onlyProblem(() => loadSpec('name: web\nimage: nginx:1\nenv:\n  A: "x\x1b[0m"\n', FILE))
    expect(problem).toMatchObject({ line: 4, col: 8 })
    expect(problem.message).toMatch(/control character U\+001B/)
  })

  it('accepts a UTF-8 byte order mark and UTF-8 text', () => {
    const spec = loadSpecBytes(Buffer.from(`\ufeff${MINIMAL}env:\n  GREETING: café ☕\n`), FILE)
    expect(spec).toMatchObject({ name: 'web', env: { GREETING: 'café ☕' } })
  })
})

describe('values YAML would change', () => {
  it('keeps what was quoted or tagged as a string', () => {
    const spec = loadSpec(`${MINIMAL}env:\n  UMASK: "0022"\n  VERSION: !!str 1.10\n  PORT: 8080\n  DEBUG: false\n  RATIO: 0.5\n`, FILE)
    expect(spec.env).toEqual({ UMASK: '0022', VERSION: '1.10', PORT: '8080', DEBUG: 'false', RATIO: '0.5' })
  })

  it('refuses a key that is a list or a mapping (YAML would turn it into a string)', () => {
    const problem = onlyProblem(() => loadSpec(`${MINIMAL}labels:\n  ? [a, b]\n  : x\n`, FILE))
    expect(problem).toMatchObject({ line: 4, col: 5, path: 'labels' })
    expect(problem.message).toMatch(/a key must be a plain string/)
  })

  it('accepts plain decimal integers and negative ones reach the range check', () => {
    expect(loadSpec(`${MINIMAL}replicas: 10\nport: 8080\n`, FILE)).toMatchObject({ replicas: 10, port: 8080 })
    expect(onlyProblem(() => loadSpec(`${MINIMAL}replicas: -1\n`, FILE)).message).toBe('must be >= 0, got -1')
  })
})

describe('environment variable names', () => {
  it.each(['DB_HOST', '_PRIVATE', 'discovery.type', 'xpack.security.enabled', 'lower_case', 'A1'])('accepts %s', (name) => {
    expect(loadSpec(`${MINIMAL}env:\n  ${name}: x\n`, FILE).env).toEqual({ [name]: 'x' })
  })

  it.each([
    ['"DB HOST"', /contains whitespace \(did you mean DB_HOST\?\)/],
    ['"TAB\\tNAME"', /contains whitespace/],
    ['""', /cannot be empty/],
    ['"A=B"', /cannot contain "="/],
    ['"9LIVES"', /letters, digits/],
    ['"$HOME"', /letters, digits/],
  ])('rejects %s', (name, message) => {
    expect(onlyProblem(() => loadSpec(`${MINIMAL}env:\n  ${name}: x\n`, FILE)).message).toMatch(message)
  })
})

describe('size and resource limits', () => {
  /** A valid-looking spec of about `bytes` bytes: one env key per line, 14 bytes each. */
  const manyKeys = (bytes: number) => {
    let text = 'name: web\nimage: nginx:1\nenv:\n'
    for (let i = 0; text.length < bytes - 14; i++) text += `  K${String(i).padStart(6, '0')}: v${i % 10}\n`
    return text
  }

  it('refuses a file over the size limit at once, saying what the limit is', () => {
    const big = Buffer.from(manyKeys(5_000_000))
    let problem: SpecProblem | undefined
    const ms = timed(() => (problem = onlyProblem(() => loadSpecBytes(big, FILE))))
    expect(ms).toBeLessThan(1000)
    expect(problem).toMatchObject({ line: 1, col: 1, path: '(root)' })
    expect(problem!.message).toMatch(/is 4\.8 MiB; a deployment file may be at most 128 KiB/)
    expect(rejection(() => loadSpec(big.toString(), FILE)).message).toMatch(/at most 128 KiB/)
  })

  it('reads at most the limit from the file (a device that never ends is refused)', async () => {
    const error = (await loadSpecFile('/dev/zero').catch((err: unknown) => err)) as ForrestError
    expect(error).toMatchObject({ code: 'INVALID_SPEC', exit: 2 })
    expect(error.message).toMatch(/\/dev\/zero:1:1 \(root\): the file is more than 128 KiB/)
  })

  it('finds a duplicate key among many in linear time, at its own path', () => {
    const text = `${manyKeys(MAX_SPEC_BYTES - 200)}  K000007: again\n`
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_SPEC_BYTES)
    let problem: SpecProblem | undefined
    const ms = timed(() => (problem = onlyProblem(() => loadSpec(text, FILE))))
    expect(problem).toMatchObject({ path: 'env.K000007', col: 3 })
    expect(problem!.message).toMatch(/key 'K000007' appears twice in this mapping \(first on line 11\)/)
    expect(ms).toBeLessThan(1000)
  })

  it('lists the first 100 problems and counts the rest', () => {
    const keys = Array.from({ length: 500 }, (_, i) => `bad${i}: 1`).join('\n')
    const error = rejection(() => loadSpec(`${MINIMAL}${keys}\n`, FILE))
    const lines = error.message.split('\n')
    expect(lines[0]).toBe(`invalid deployment spec ${FILE} (500 problems):`)
    expect(lines).toHaveLength(102)
    expect(lines[101]).toBe('… and 400 more')
    expect(problemsOf(error)).toHaveLength(500)
  })

  it('stops an alias bomb quickly, as INVALID_SPEC naming the file', () => {
    const levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for (const [prev, next] of [...'abcdefghi'].entries()) {
      if (prev > 0) levels.push(`${next}: &${next} [${Array(9).fill(`*${'abcdefghi'[prev - 1]}`).join(', ')}]`)
    }
    const text = `${MINIMAL}labels:\n${levels.map((l) => `  ${l}`).join('\n')}\n`
    let error: ForrestError | undefined
    const ms = timed(() => (error = rejection(() => loadSpec(text, 'bomb.yml'))))
    expect(ms).toBeLessThan(1000)
    expect(error).toMatchObject({ code: 'INVALID_SPEC', exit: 2 })
    expect(error!.message).toMatch(/^bomb\.yml:\d+:\d+ labels\.f\[0\]: aliases expand this file to more than 100000 values/m)
  })

  it('limits how many aliases a file may use', () => {
    const aliases = Array.from({ length: 200 }, (_, i) => `  L${i}: *v`).join('\n')
    const problem = onlyProblem(() => loadSpec(`${MINIMAL}labels:\n  L: &v one\n${aliases}\n`, FILE))
    expect(problem.message).toMatch(/more than 100 aliases/)
  })

  it('refuses nesting deeper than a deployment file needs, before converting it', () => {
    const deep = `${MINIMAL}env:\n  A: ${'['.repeat(100)}${']'.repeat(100)}\n`
    const problem = onlyProblem(() => loadSpec(deep, FILE))
    expect(problem.message).toMatch(/nested more than 16 levels deep/)
  })

  it('maps a parser that runs out of stack to INVALID_SPEC', () => {
    const error = rejection(() => loadSpec(`a: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, FILE))
    expect(error).toMatchObject({ code: 'INVALID_SPEC', exit: 2 })
    expect(error.message).toMatch(/nested too deeply/)
  })
})
