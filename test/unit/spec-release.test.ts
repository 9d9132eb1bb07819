import { describe, expect, it } from 'vitest'
import { ForrestError } from '../../src/errors.js'
import { loadSpec, loadSpecFile, type SpecProblem } from '../../src/spec/index.js'
import { specTemplateHash } from '../../src/spec/template-hash.js'

const FILE = 'app.yml'
const BASE = 'name: web\nimage: nginx:1\n'

function problems(text: string): SpecProblem[] {
  try {
    loadSpec(text, FILE)
  } catch (err) {
    expect(err).toBeInstanceOf(ForrestError)
    expect(err).toMatchObject({ code: 'INVALID_SPEC', exit: 2 })
    return (err as ForrestError).detail ? ((err as ForrestError).detail as { problems: SpecProblem[] }).problems : []
  }
  throw new Error('expected the spec to be rejected')
}

describe('release: in the deployment file', () => {
  it('takes a command list and a timeout (default 10m)', () => {
    const spec = loadSpec(`${BASE}release:\n  command: [bin/migrate, --yes]\n  timeout: 2m\n`, FILE)
    expect(spec.release).toEqual({ command: ['bin/migrate', '--yes'], timeout: 120_000 })
    expect(loadSpec(`${BASE}release:\n  command: [bin/migrate]\n`, FILE).release?.timeout).toBe(600_000)
    expect(loadSpec(BASE, FILE).release).toBeUndefined()
  })

  it.each([
    ['a string, not a list', 'release:\n  command: bin/migrate --yes\n', 4, 12, /expected a list of strings/],
    ['an empty list', 'release:\n  command: []\n', 4, 12, /at least the program/],
    ['no command', 'release:\n  timeout: 1m\n', 3, 1, /expected a list of strings/],
    ['a zero timeout', 'release:\n  command: [x]\n  timeout: 0s\n', 5, 12, /must be longer than 0/],
    ['an unknown key', 'release:\n  command: [x]\n  comand: [y]\n', 5, 3, /comand/],
  ])('rejects %s with file:line:col and the fix (exit 2)', (_, tail, line, col, message) => {
    const [p, ...rest] = problems(BASE + tail)
    expect(rest).toEqual([])
    expect(p).toMatchObject({ file: FILE, line, col })
    expect(p!.path).toMatch(/^release/)
    expect(p!.message).toMatch(message)
  })

  it('a release command is part of the revision; a file without one keeps its revision', () => {
    const without = loadSpec(BASE, FILE)
    const withRelease = loadSpec(`${BASE}release:\n  command: [bin/migrate]\n`, FILE)
    const other = loadSpec(`${BASE}release:\n  command: [bin/migrate, --all]\n`, FILE)
    const hashes = [without, withRelease, other].map((s) => specTemplateHash(s, 'sha256:1'))
    expect(new Set(hashes).size).toBe(3)
    // The hash of a file without release is what it was before release existed (the field is left out, not null).
    expect(specTemplateHash({ ...without, release: undefined }, 'sha256:1')).toBe(hashes[0])
  })
})

describe('hooks: in the deployment file', () => {
  it('takes argv lists and a timeout (default 5m); not part of the revision', () => {
    const spec = loadSpec(`${BASE}hooks:\n  preDeploy: [./ci-green.sh]\n  onFailure: [./notify.sh, failed]\n`, FILE)
    expect(spec.hooks).toEqual({ preDeploy: ['./ci-green.sh'], onFailure: ['./notify.sh', 'failed'], timeout: 300_000 })
    expect(specTemplateHash(spec, 'sha256:1')).toBe(specTemplateHash(loadSpec(BASE, FILE), 'sha256:1'))
  })

  it.each([
    ['a string hook', 'hooks:\n  preDeploy: ./ci-green.sh\n', 4, 14, /expected a list of strings/],
    ['an unknown hook', 'hooks:\n  preDeplyo: [x]\n', 4, 3, /preDeplyo/],
  ])('rejects %s with file:line:col (exit 2)', (_, tail, line, col, message) => {
    const [p, ...rest] = problems(BASE + tail)
    expect(rest).toEqual([])
    expect(p).toMatchObject({ file: FILE, line, col })
    expect(p!.message).toMatch(message)
  })
})

describe('deployments/webapp.yml (the README worked example)', () => {
  it('is valid: a release command, hooks and a secret', async () => {
    const spec = await loadSpecFile('deployments/webapp.yml')
    expect(spec.release).toMatchObject({ command: ['/bin/sh', '-c', expect.stringContaining('migrating')], timeout: 300_000 })
    expect(Object.keys(spec.hooks ?? {}).sort()).toEqual(['onFailure', 'postDeploy', 'preDeploy', 'timeout'])
    expect(spec.env.DATABASE_PASSWORD).toEqual({ fromEnv: 'DATABASE_PASSWORD' })
  })
})
