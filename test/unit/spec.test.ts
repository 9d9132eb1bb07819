import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ForrestError } from '../../src/errors.js'
import { formatDuration, loadSpec, loadSpecBytes, loadSpecFile, parseDuration, resolveStrategy, specTemplateHash, type DeploymentSpec, type SpecProblem } from '../../src/spec/index.js'
import { resolveCanaryCount } from '../../src/spec/strategy.js'

const FIXTURES = 'test/fixtures/specs'
const ymlIn = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yml')).sort()

function problemsOf(bytes: Uint8Array, file: string): { error: ForrestError; problems: SpecProblem[] } {
  try {
    loadSpecBytes(bytes, file)
  } catch (err) {
    expect(err).toBeInstanceOf(ForrestError)
    const error = err as ForrestError
    return { error, problems: (error.detail as { problems: SpecProblem[] }).problems }
  }
  throw new Error(`${file} was expected to be invalid`)
}

describe('loadSpec: invalid fixtures', () => {
  const files = ymlIn(join(FIXTURES, 'invalid'))

  it('has a fixture for every required case', () => expect(files.length).toBeGreaterThanOrEqual(22))

  // Each X.yml has X.expected: one line per problem, "LINE:COL path: message prefix", in file order.
  it.each(files)('%s', (name) => {
    const file = join(FIXTURES, 'invalid', name)
    const expected = readFileSync(file.replace(/\.yml$/, '.expected'), 'utf8').split('\n').filter(Boolean)
    const { error, problems } = problemsOf(readFileSync(file), file)

    expect(error.code).toBe('INVALID_SPEC')
    expect(error.exit).toBe(2)
    expect(error.suggestion).toBeTruthy()
    expect(problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`).map((line, i) => line.slice(0, expected[i]?.length))).toEqual(expected)
    // The message lists every problem, one per line, as FILE:LINE:COL path: reason.
    const lines = error.message.split('\n')
    expect(lines).toHaveLength(problems.length + 1)
    problems.forEach((p, i) => expect(lines[i + 1]).toBe(`${file}:${p.line}:${p.col} ${p.path}: ${p.message}`))
    for (const p of problems) expect(p.file).toBe(file)
  })
})

describe('loadSpec: valid fixtures and shipped deployments', () => {
  const valid = ymlIn(join(FIXTURES, 'valid')).map((f) => join(FIXTURES, 'valid', f))
  const shipped = ymlIn('deployments').map((f) => join('deployments', f))

  it('ships at least one deployment', () => expect(shipped.length).toBeGreaterThan(0))

  it.each([...valid, ...shipped])('%s validates', async (file) => {
    const spec = await loadSpecFile(file)
    expect(spec.name).toMatch(/^[a-z0-9][a-z0-9-]*$/)
  })

  it('applies defaults for a minimal spec', () => {
    expect(loadSpec('name: web\nimage: nginx:1\n', 'min.yml')).toEqual({
      name: 'web',
      image: 'nginx:1',
      pull: 'missing',
      replicas: 1,
      env: {},
      labels: {},
      announce: {},
      health: { type: 'http', path: '/', status: 200, interval: 200, timeout: 1000, successes: 1, deadline: 30_000 },
      update: {
        order: 'start-first',
        maxSurge: 1,
        maxUnavailable: 0,
        soak: 0,
        drain: 5000,
        stopGracePeriod: 10_000,
        onFailure: 'rollback',
        progressDeadline: 600_000,
        strategy: 'rolling',
        blueGreen: { pause: false },
      },
      gateways: { required: 0, timeout: 30_000 },
      hostPorts: { from: 20_000, to: 29_999 },
    })
  })

  it('resolves durations, stringifies env and keeps percentages as written', async () => {
    const spec = await loadSpecFile(join(FIXTURES, 'valid', 'full.yml'))
    expect(spec.env).toEqual({ NODE_ENV: 'production', WORKERS: '4', DEBUG: 'false' })
    expect(spec.health).toMatchObject({ interval: 500, timeout: 2000, deadline: 90_000, status: 204, path: '/healthz' })
    expect(spec.update).toMatchObject({ maxSurge: '25%', maxUnavailable: '10%', progressDeadline: 3_600_000 })
    expect(spec.announce).toEqual({ prefix: 'services/api', address: '10.0.0.5' }) // written "/services/api/": one spelling
  })

  it('matches the annotated example the README deploys', async () => {
    const spec = await loadSpecFile('deployments/myapp.yml')
    expect(spec).toMatchObject({ name: 'myapp', image: 'demo/myapp:1', replicas: 3, port: 8080 })
    expect(spec.health).toMatchObject({ type: 'http', path: '/' })
    expect(spec.update).toMatchObject({ order: 'start-first', maxSurge: 1, maxUnavailable: 0, drain: 2000 })
  })

  it('reports a missing file as BAD_INPUT', async () => {
    await expect(loadSpecFile('deployments/nope.yml')).rejects.toMatchObject({ code: 'BAD_INPUT' })
  })
})

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h0m5s250ms', 3_605_250],
    ['0s', 0],
  ])('%s = %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
    expect(parseDuration(formatDuration(ms))).toBe(ms)
  })

  it.each(['', '10', '1.5s', '10 s', '1s1m', 's', '5d'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined())
})

describe('resolveStrategy', () => {
  const spec = (replicas: number, maxSurge: number | string, maxUnavailable: number | string) => {
    const base = loadSpec('name: web\nimage: nginx:1\n', 'x.yml')
    return { ...base, replicas, update: { ...base.update, maxSurge, maxUnavailable } }
  }

  it.each([
    [10, '25%', '25%', 3, 2],
    [3, '25%', '25%', 1, 0],
    [4, '50%', '50%', 2, 2],
    [1, '10%', '100%', 1, 1],
    [5, 2, 1, 2, 1],
    [0, '25%', '25%', 0, 0],
  ])('replicas %i, maxSurge %s, maxUnavailable %s → %i, %i', (replicas, surge, unavailable, s, u) => {
    expect(resolveStrategy(spec(replicas, surge, unavailable))).toEqual({ maxSurge: s, maxUnavailable: u, order: 'start-first' })
  })
})

describe('specTemplateHash', () => {
  const base = loadSpec('name: web\nimage: nginx:1\nport: 80\nenv: {A: "1", B: "2"}\n', 'x.yml')

  it('ignores replicas and update', () => {
    const other = { ...base, replicas: 9, update: { ...base.update, drain: 1 } }
    expect(specTemplateHash(other, 'sha256:aa')).toBe(specTemplateHash(base, 'sha256:aa'))
  })

  it('changes with the announce prefix or address: moving instances is a new revision, rolled out within the bounds', () => {
    expect(specTemplateHash({ ...base, announce: { prefix: 'x' } }, 'sha256:aa')).not.toBe(specTemplateHash(base, 'sha256:aa'))
    expect(specTemplateHash({ ...base, announce: { address: '10.0.0.9' } }, 'sha256:aa')).not.toBe(specTemplateHash(base, 'sha256:aa'))
  })

  it('every spelling of a prefix is the same prefix', () => {
    for (const p of ['/a/b/', 'a/b', '//a//b', 'a/b/']) expect(loadSpec(`name: web\nimage: nginx:1\nannounce: {prefix: "${p}"}\n`, 'x.yml').announce.prefix).toBe('a/b')
  })

  it('ignores key order', () => {
    const reordered = loadSpec('env: {B: "2", A: "1"}\nport: 80\nimage: nginx:1\nname: web\n', 'x.yml')
    expect(specTemplateHash(reordered, 'sha256:aa')).toBe(specTemplateHash(base, 'sha256:aa'))
  })

  const changes: Array<[string, DeploymentSpec, string]> = [
    ['image id', base, 'sha256:bb'],
    ['env', { ...base, env: { A: '1', B: '3' } }, 'sha256:aa'],
    ['port', { ...base, port: 81 }, 'sha256:aa'],
    ['command', { ...base, command: ['x'] }, 'sha256:aa'],
    ['labels', { ...base, labels: { a: 'b' } }, 'sha256:aa'],
    ['health', { ...base, health: { ...base.health, path: '/x' } }, 'sha256:aa'],
  ]
  it.each(changes)('changes with %s', (_, spec, imageId) => {
    expect(specTemplateHash(spec, imageId)).not.toBe(specTemplateHash(base, 'sha256:aa'))
  })
})

describe('update.canary', () => {
  const load = (canary: string) => loadSpecBytes(new TextEncoder().encode(`name: web\nimage: demo/myapp:1\nport: 8080\nreplicas: 4\nupdate:\n  canary: ${canary}\n`), 'web.yml')

  it('fills in defaults and keeps a percentage as written', () => {
    expect(load('{}').update.canary).toEqual({ count: 1, window: 30_000, minRequests: 20, maxErrorRateIncrease: 0.05, maxLatencyFactor: 2, pause: false })
    expect(load('{ count: "25%", window: 10s, pause: true }').update.canary).toMatchObject({ count: '25%', window: 10_000, pause: true })
    expect(loadSpecBytes(new TextEncoder().encode('name: web\nimage: demo/myapp:1\nport: 8080\n'), 'web.yml').update.canary).toBeUndefined()
  })

  it('reports every bad field by path', () => {
    const { problems } = problemsOf(new TextEncoder().encode('name: web\nimage: demo/myapp:1\nport: 8080\nupdate:\n  canary: { count: 0, window: 0s, maxErrorRateIncrease: 2, maxLatencyFactor: 0.5, minRequest: 3 }\n'), 'web.yml')
    expect(problems.map((p) => p.path).sort()).toEqual(['update.canary.count', 'update.canary.maxErrorRateIncrease', 'update.canary.maxLatencyFactor', 'update.canary.minRequest', 'update.canary.window'])
  })

  it('resolves the count against replicas: rounded up, at least 1, at most replicas', () => {
    expect(resolveCanaryCount('10%', 4)).toBe(1)
    expect(resolveCanaryCount('50%', 5)).toBe(3)
    expect(resolveCanaryCount(7, 3)).toBe(3)
    expect(resolveCanaryCount(2, 10)).toBe(2)
  })
})
