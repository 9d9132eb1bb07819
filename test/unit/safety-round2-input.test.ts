import { describe, expect, it } from 'vitest'
import { ForrestError } from '../../src/errors.js'
import { registryAuthFor, registryOfEnvCredentials } from '../../src/image/credentials.js'
import { describeCanary, judgeCanary, trafficBetween, type CounterSample, type CounterSnapshot } from '../../src/plan/canary.js'
import { imageReferenceProblem } from '../../src/spec/image-reference.js'
import { OWN_CREDENTIAL_VARIABLES } from '../../src/spec/own-credentials.js'
import { loadSpec, type SpecProblem } from '../../src/spec/index.js'

const FILE = 'deploy.yml'
const MINIMAL = 'name: web\nimage: nginx:1\n'

/** Rejected as INVALID_SPEC (exit 2) with exactly one problem, which is returned. */
function onlyProblem(text: string): SpecProblem {
  try {
    loadSpec(text, FILE)
  } catch (err) {
    expect(err).toBeInstanceOf(ForrestError)
    expect(err).toMatchObject({ code: 'INVALID_SPEC', exit: 2 })
    const problems = ((err as ForrestError).detail as { problems: SpecProblem[] }).problems
    expect(problems).toHaveLength(1)
    return problems[0]!
  }
  throw new Error('expected the spec to be rejected')
}

describe('health.path is validated as an HTTP request target (origin-form)', () => {
  it.each(['/', '/healthz', '/a/b-c_d.e~f', '/q?x=1&y=%20z', '/%7Euser', "/a:b@c!$&'()*+,;="])('accepts %s', (path) => {
    expect(loadSpec(`${MINIMAL}health:\n  path: ${JSON.stringify(path)}\n`, FILE).health.path).toBe(path)
  })

  it.each([
    ['"/health check"', /contains a space at position 8/],
    ['"/health\\ncheck"', /contains a control character U\+000A at position 8/],
    ['"/tab\\there"', /contains a control character U\+0009 at position 5/],
    ['"/bad%zz"', /invalid percent-encoding "%zz" at position 5/],
    ['"/trail%2"', /invalid percent-encoding "%2" at position 7/],
    ['"/frag#x"', /"#" .*fragment/],
    ['"/café"', /"é" at position 5, .*percent-encode it \(%C3%A9\)/],
    ['"/a\\"b"', /"\\"" at position 3/],
    ['healthz', /must start with "\/"/],
    ['"http://x/healthz"', /must start with "\/"/],
  ])('refuses %s, naming file, line, column and the reason', (yaml, reason) => {
    const problem = onlyProblem(`${MINIMAL}health:\n  path: ${yaml}\n`)
    expect(problem).toMatchObject({ file: FILE, line: 4, col: 9, path: 'health.path' })
    expect(problem.message).toMatch(reason)
  })
})

describe('image names Docker would read as a registry host', () => {
  it.each([
    ['UPPER/case', /"UPPER" has capital letters, so Docker would read it as a registry host.*write upper\/case/],
    ['Team/app:1', /write team\/app:1/],
    ['MyOrg/sub/app:1', /write myorg\/sub\/app:1/],
  ])('%s is refused with a hint', (ref, hint) => {
    expect(imageReferenceProblem(ref)).toMatch(hint)
    const problem = onlyProblem(`name: web\nimage: ${ref}\n`)
    expect(problem).toMatchObject({ file: FILE, line: 2, col: 8, path: 'image' })
    expect(problem.message).toMatch(hint)
  })

  it.each(['Registry.Example.com/team/app:1', 'MYHOST:5000/app:1', 'localhost/app', 'demo/myapp:1'])('a host named with "." or ":" (any case), or localhost, is kept: %s', (ref) => {
    expect(imageReferenceProblem(ref)).toBeUndefined()
  })
})

describe('{fromEnv: NAME} never names forrest\'s own credentials', () => {
  it.each(['FORREST_REGISTRY_PASSWORD', 'FORREST_REGISTRY_PASSWORD_FILE', 'FORREST_SECRET_KEY', 'ETCDCTL_PASSWORD', 'ETCDCTL_USER', 'FORREST_ETCD_PASSWORD_FILE'])('%s is refused at validation (exit 2, file:line:col, the fix)', (name) => {
    expect(OWN_CREDENTIAL_VARIABLES).toContain(name)
    const problem = onlyProblem(`${MINIMAL}env:\n  X: {fromEnv: ${name}}\n`)
    expect(problem).toMatchObject({ file: FILE, line: 4, col: 16, path: 'env.X.fromEnv' })
    expect(problem.message).toMatch(new RegExp(`\\$${name} is one of forrest's own credentials and is never passed to a container; give the app its own variable`))
  })

  it('any other variable is a secret reference as before', () => {
    expect(loadSpec(`${MINIMAL}env:\n  X: {fromEnv: DB_PASSWORD}\n`, FILE).env).toEqual({ X: { fromEnv: 'DB_PASSWORD' } })
  })
})

describe('the canary is judged on dropped connections too (HAProxy econ, eresp, wretr, wredis)', () => {
  const sample = (responses: number, f: Partial<CounterSample> = {}): CounterSample => ({ responses, errors5xx: 0, rtimeMs: 3, ...f })
  const snap = (byName: Record<string, CounterSample>): CounterSnapshot => new Map([['g1', byName]])
  const thresholds = { minRequests: 20, maxErrorRateIncrease: 0.05, maxLatencyFactor: 2 }

  it('a canary whose dropped connections HAProxy retried elsewhere (0 5xx) fails, naming the counters', () => {
    const start = snap({ canary: sample(0), stable: sample(1000) })
    const end = snap({ canary: sample(100, { eresp: 100, wretr: 100, wredis: 100 }), stable: sample(1400) })
    const canary = trafficBetween(start, end, ['canary'])
    const stable = trafficBetween(start, end, ['stable'])
    expect(canary).toMatchObject({ responses: 100, errors5xx: 0, errorRate: 0, failures: { econ: 0, eresp: 100, wretr: 100, wredis: 100 }, failureRate: 0.75 })
    const verdict = judgeCanary({ canary, stable, thresholds })
    expect(verdict.verdict).toBe('failed')
    expect(verdict.reasons).toEqual(['connection failures 75.0% (econ 0, eresp 100, wretr 100, wredis 100; 100 responses) against stable 0.0% (econ 0, eresp 0, wretr 0, wredis 0): +75.0%, more than maxErrorRateIncrease 5.0%'])
    expect(describeCanary({ ...verdict, windowMs: 6000, canary: { ...canary, instances: ['c'] }, stable: { ...stable, instances: ['s'] }, thresholds })).toContain('canary 100 responses, 0 5xx (0.0%), 300 connection failures (75.0%), 3 ms')
  })

  it('the same share on the stable instances is no regression; counters from an older gateway count as 0', () => {
    const start = snap({ canary: sample(0), stable: sample(0) })
    const end = snap({ canary: sample(100, { econ: 2 }), stable: sample(300, { econ: 6 }) })
    expect(judgeCanary({ canary: trafficBetween(start, end, ['canary']), stable: trafficBetween(start, end, ['stable']), thresholds }).verdict).toBe('passed')
    const old = snap({ canary: sample(100), stable: sample(300) })
    expect(trafficBetween(start, old, ['canary'])).toMatchObject({ failures: { econ: 0, eresp: 0, wretr: 0, wredis: 0 }, failureRate: 0 })
  })

  it('a counter that went down (HAProxy reloaded) is counted from zero', () => {
    const start = snap({ canary: sample(50, { eresp: 40 }) })
    const end = snap({ canary: sample(60, { eresp: 5 }) })
    expect(trafficBetween(start, end, ['canary']).failures).toEqual({ econ: 0, eresp: 5, wretr: 0, wredis: 0 })
  })
})

describe('FORREST_REGISTRY_USER is bound to FORREST_REGISTRY_SERVER', () => {
  const ci = { FORREST_REGISTRY_USER: 'ci', FORREST_REGISTRY_PASSWORD: 'pw', DOCKER_CONFIG: '/nonexistent-forrest-docker-config' }

  it('is sent to that registry only (any spelling of it), never to another one', async () => {
    for (const server of ['registry.example.com:5000', 'https://registry.example.com:5000/', 'REGISTRY.example.com:5000']) {
      expect(await registryAuthFor('registry.example.com:5000', { ...ci, FORREST_REGISTRY_SERVER: server })).toMatchObject({ username: 'ci', password: 'pw' })
    }
    expect(await registryAuthFor('evil.example.com', { ...ci, FORREST_REGISTRY_SERVER: 'registry.example.com:5000' })).toBeUndefined()
    expect(await registryAuthFor('docker.io', { ...ci, FORREST_REGISTRY_SERVER: 'registry.example.com:5000' })).toBeUndefined()
    expect(await registryAuthFor('docker.io', { ...ci, FORREST_REGISTRY_SERVER: 'docker.io' })).toMatchObject({ serveraddress: 'https://index.docker.io/v1/', username: 'ci' })
  })

  it('without a server it is bad input naming the fix; a server with a path is refused', () => {
    expect(() => registryOfEnvCredentials(ci)).toThrow(/FORREST_REGISTRY_SERVER is not/)
    expect(() => registryOfEnvCredentials({ ...ci, FORREST_REGISTRY_SERVER: 'registry.example.com/team' })).toThrow(/not a registry host\[:port\]/)
    expect(registryOfEnvCredentials({})).toBeUndefined()
  })
})
