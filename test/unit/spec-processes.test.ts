import { describe, expect, it } from 'vitest'
import { ForrestError } from '../../src/errors.js'
import { loadSpec, type SpecProblem } from '../../src/spec/index.js'
import { specTemplateHash } from '../../src/spec/template-hash.js'

const FILE = 'app.yml'
const BASE = 'name: shop\nimage: nginx:1\n'
const WEB_AND_WORKER = `${BASE}processes:
  web:
    port: 8080
    replicas: 2
    health: { path: /healthz }
  worker:
    command: [bin/worker, --queue, default]
    replicas: 3
    stopSignal: SIGQUIT
    stopGracePeriod: 5m
`

function problems(text: string): SpecProblem[] {
  try {
    loadSpec(text, FILE)
  } catch (err) {
    expect(err).toBeInstanceOf(ForrestError)
    expect(err).toMatchObject({ code: 'INVALID_SPEC', exit: 2 })
    return ((err as ForrestError).detail as { problems: SpecProblem[] }).problems
  }
  throw new Error('expected the spec to be rejected')
}

describe('processes: in the deployment file', () => {
  it('lifts web to the top level and keeps the workers, with the app settings merged in', () => {
    const spec = loadSpec(`${WEB_AND_WORKER}container:\n  user: "1000:1000"\n`, FILE)
    expect(spec).toMatchObject({ replicas: 2, port: 8080, health: { type: 'http', path: '/healthz', status: 200 } })
    expect(spec.command).toBeUndefined()
    expect(Object.keys(spec.processes ?? {})).toEqual(['worker'])
    const worker = spec.processes!.worker!
    expect(worker).toMatchObject({ replicas: 3, command: ['bin/worker', '--queue', 'default'], health: { type: 'none', running: 5000 } })
    expect(worker.update.stopGracePeriod).toBe(300_000)
    expect(spec.update.stopGracePeriod).toBe(10_000)
    expect(worker.container).toEqual({ user: '1000:1000', stopSignal: 'SIGQUIT' })
  })

  it('a file whose only process is web means exactly the file without processes (same spec, same revision hash)', () => {
    const plain = loadSpec(`${BASE}replicas: 2\nport: 8080\ncommand: [httpd]\nhealth: { path: /healthz }\n`, FILE)
    const asProcess = loadSpec(`${BASE}processes:\n  web: { replicas: 2, port: 8080, command: [httpd], health: { path: /healthz } }\n`, FILE)
    expect(asProcess).toEqual(plain)
    expect(specTemplateHash(asProcess, 'sha256:x')).toBe(specTemplateHash(plain, 'sha256:x'))
  })

  it('a worker health is docker or running-for-N; a worker command change is a new revision, its replicas are not', () => {
    const docker = loadSpec(WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    health: { type: docker }'), FILE)
    expect(docker.processes!.worker!.health).toMatchObject({ type: 'docker' })
    expect(docker.processes!.worker!.health.running).toBeUndefined()
    const running = loadSpec(WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    health: { running: 20s }'), FILE)
    expect(running.processes!.worker!.health).toMatchObject({ type: 'none', running: 20_000 })
    const command = loadSpec(WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    health: { command: [bin/check, --quick], timeout: 5s }'), FILE)
    expect(command.processes!.worker!.health).toMatchObject({ type: 'command', command: ['bin/check', '--quick'], timeout: 5000 })
    const base = loadSpec(WEB_AND_WORKER, FILE)
    const moreWorkers = loadSpec(WEB_AND_WORKER.replace('replicas: 3', 'replicas: 7'), FILE)
    const otherCommand = loadSpec(WEB_AND_WORKER.replace('--queue, default', '--queue, mail'), FILE)
    expect(specTemplateHash(moreWorkers, 'i')).toBe(specTemplateHash(base, 'i'))
    expect(specTemplateHash(otherCommand, 'i')).not.toBe(specTemplateHash(base, 'i'))
  })

  it.each([
    ['a worker with a health path', WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    health: { path: /healthz }'), 'processes.worker.health.path', /worker \(no port\).*never probed over HTTP.*health.type: docker/],
    ['a worker with a port', WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    port: 9000'), 'processes.worker.port', /only the web process is announced/],
    ['a process name that reads as a revision', WEB_AND_WORKER.replace('  worker:', '  r2:'), 'processes.r2', /collides with forrest's instance names \(shop-r2-r1-1/],
    ['an uppercase process name', WEB_AND_WORKER.replace('  worker:', '  Worker:'), 'processes.Worker', /use lowercase \(worker\)/],
    ['no web process', `${BASE}processes:\n  worker: { command: [w] }\n`, 'processes', /no web process/],
    ['a health command on web', WEB_AND_WORKER.replace('health: { path: /healthz }', 'health: { path: /healthz, command: [x] }'), 'processes.web.health.command', /health.command is for workers/],
    ['a health command with a type', WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    health: { type: docker, command: [x] }'), 'processes.worker.health.type', /remove health.type \(docker\)/],
    ['a misspelt process key', WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    stopGracePerod: 1m'), 'processes.worker.stopGracePerod', /unknown key 'stopGracePerod' \(did you mean 'stopGracePeriod'\?\)/],
    ['a misspelt worker health key', WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    health: { runing: 10s }'), 'processes.worker.health.runing', /did you mean 'running'/],
    ['a canary on a worker', WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    update: { canary: { count: 1 } }'), 'processes.worker.update.canary', /serves none/],
    ['blue-green beside a worker', `${BASE}update: { strategy: blue-green }\n${WEB_AND_WORKER.slice(BASE.length)}`, 'update.strategy', /switch back could not restore them/],
    ['blue-green on web beside a worker', WEB_AND_WORKER.replace('health: { path: /healthz }', 'health: { path: /healthz }\n    update: { strategy: blue-green }'), 'processes.web.update.strategy', /workers \(worker\) serve none/],
    ['top-level replicas with processes', `replicas: 4\n${WEB_AND_WORKER}`, 'replicas', /with processes, replicas is set per process: move it under processes.web/],
    ['top-level port with processes', `port: 80\n${WEB_AND_WORKER}`, 'port', /move it under processes.web \(processes.web.port\)/],
  ])('rejects %s, naming the field and the fix (exit 2)', (_, text, path, message) => {
    const found = problems(text)
    const p = found.find((x) => x.path === path)
    expect(p, JSON.stringify(found)).toBeDefined()
    expect(p!.message).toMatch(message)
    expect(p!.line).toBeGreaterThan(0)
  })

  it('two processes of the same name are refused (duplicate key), not merged', () => {
    const found = problems(WEB_AND_WORKER + '  worker:\n    command: [other]\n')
    expect(found.map((p) => `${p.path}: ${p.message}`).join('\n')).toMatch(/worker/)
  })
})

describe('diff of processes (history, plan)', () => {
  it('names added, removed and changed workers, and web\'s replicas as web\'s', async () => {
    const { diffSpecs } = await import('../../src/spec/diff.js')
    const a = loadSpec(WEB_AND_WORKER, FILE)
    const b = loadSpec(WEB_AND_WORKER.replace('--queue, default', '--queue, mail').replace('replicas: 2', 'replicas: 4').replace('stopGracePeriod: 5m', 'stopGracePeriod: 1m') + '  mailer:\n    command: [bin/mailer]\n', FILE)
    expect(diffSpecs(a, b)).toEqual([
      'web: replicas 2 → 4',
      'process +mailer (worker, 1 replica)',
      'worker: command ["bin/worker","--queue","default"] → ["bin/worker","--queue","mail"]',
      'worker: stopGracePeriod 300000ms → 60000ms',
    ])
    expect(diffSpecs(b, a)).toContain('process -mailer')
  })
})

describe('a process placement', () => {
  const HOSTS = 'hosts:\n  - {name: h1, docker: "unix:///var/run/docker.sock", address: 10.0.0.1, labels: {role: web}}\n  - {name: h2, docker: "tcp://h2:2376", address: 10.0.0.2, labels: {role: jobs}}\n'
  it('picks hosts by label per process, and is refused without hosts or with labels no host has', () => {
    const spec = loadSpec(HOSTS + WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    placement: {labels: {role: jobs}}'), FILE)
    expect(spec.processes!.worker!.placement).toEqual({ labels: { role: 'jobs' } })
    expect(problems(WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    placement: {labels: {role: jobs}}')).map((p) => `${p.path}: ${p.message}`)).toEqual(['processes.worker.placement: placement needs a hosts list to choose from'])
    expect(problems(HOSTS + WEB_AND_WORKER.replace('replicas: 3', 'replicas: 3\n    placement: {labels: {role: gpu}}')).map((p) => `${p.path}: ${p.message}`)).toEqual(['processes.worker.placement.labels: no host carries all these labels, so worker could not run'])
  })
})
