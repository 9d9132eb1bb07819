import { describe, expect, it } from 'vitest'
import { createOptions } from '../../src/docker/create-options.js'
import type { RunOptions } from '../../src/docker/runtime.js'
import { parseBytes } from '../../src/spec/bytes.js'
import { containerSettingsSchema, type ContainerSettingsInput } from '../../src/spec/container.js'
import { diffSpecs } from '../../src/spec/diff.js'
import { specTemplateHash } from '../../src/spec/template-hash.js'
import { deploymentSchema } from '../../src/spec/schema.js'

const base: RunOptions = { name: 'myapp-1', image: 'demo/myapp:1', containerPort: 8080, bindIp: '10.0.0.5', hostPort: 20001, labels: { 'forrest.app': 'myapp' }, restart: 'unless-stopped' }
const run = (settings: ContainerSettingsInput, extra: Partial<RunOptions> = {}) => createOptions({ ...base, ...extra, settings: containerSettingsSchema.parse(settings) })

/**
 * Each row: the setting as written under `container:`, the Compose key and `docker run` flag it
 * mirrors (README › Container settings has the same table), and where it lands in the Engine's
 * create options (a path into them, and the value expected there).
 */
const TABLE: Array<[string, ContainerSettingsInput, string, string, string, unknown]> = [
  ['networks', { networks: ['backend'] }, 'networks', '--network', 'HostConfig.NetworkMode', 'backend'],
  ['networks aliases', { networks: [{ name: 'backend', aliases: ['web'] }] }, 'networks.aliases', '--network-alias', 'NetworkingConfig.EndpointsConfig.backend.Aliases', ['web']],
  ['volumes (named)', { volumes: ['uploads:/data'] }, 'volumes', '-v / --mount type=volume', 'HostConfig.Mounts', [{ Type: 'volume', Source: 'uploads', Target: '/data', ReadOnly: false }]],
  ['volumes (bind, ro)', { volumes: ['/srv/sock:/run/sock:ro'] }, 'volumes', '-v / --mount type=bind,readonly', 'HostConfig.Mounts', [{ Type: 'bind', Source: '/srv/sock', Target: '/run/sock', ReadOnly: true }]],
  ['volumes (long bind)', { volumes: [{ type: 'bind', source: '/srv/x', target: '/x', readOnly: true }] }, 'volumes (long syntax)', '--mount type=bind', 'HostConfig.Mounts', [{ Type: 'bind', Source: '/srv/x', Target: '/x', ReadOnly: true }]],
  ['volumes (tmpfs)', { volumes: [{ type: 'tmpfs', target: '/tmp', size: '64m' }] }, 'tmpfs / volumes type tmpfs', '--tmpfs / --mount type=tmpfs', 'HostConfig.Mounts', [{ Type: 'tmpfs', Source: '', Target: '/tmp', TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1777 } }]],
  ['resources.memory', { resources: { memory: '512m' } }, 'mem_limit', '--memory', 'HostConfig.Memory', 512 * 1024 * 1024],
  ['resources.memory (no swap)', { resources: { memory: '1g' } }, 'memswap_limit = mem_limit', '--memory-swap', 'HostConfig.MemorySwap', 1024 ** 3],
  ['resources.memoryReservation', { resources: { memoryReservation: '256m' } }, 'mem_reservation', '--memory-reservation', 'HostConfig.MemoryReservation', 256 * 1024 * 1024],
  ['resources.cpus', { resources: { cpus: 1.5 } }, 'cpus', '--cpus', 'HostConfig.NanoCpus', 1_500_000_000],
  ['resources.pids', { resources: { pids: 200 } }, 'pids_limit', '--pids-limit', 'HostConfig.PidsLimit', 200],
  ['user', { user: '1000:1000' }, 'user', '--user', 'User', '1000:1000'],
  ['readOnly', { readOnly: true }, 'read_only', '--read-only', 'HostConfig.ReadonlyRootfs', true],
  ['capAdd', { capAdd: ['net_bind_service', 'CAP_CHOWN'] }, 'cap_add', '--cap-add', 'HostConfig.CapAdd', ['NET_BIND_SERVICE', 'CHOWN']],
  ['capDrop', { capDrop: ['ALL'] }, 'cap_drop', '--cap-drop', 'HostConfig.CapDrop', ['ALL']],
  ['noNewPrivileges', { noNewPrivileges: true }, 'security_opt: [no-new-privileges:true]', '--security-opt no-new-privileges', 'HostConfig.SecurityOpt', ['no-new-privileges:true']],
  ['ulimits', { ulimits: { nofile: { soft: 1024, hard: 4096 }, nproc: 512 } }, 'ulimits', '--ulimit', 'HostConfig.Ulimits', [{ Name: 'nofile', Soft: 1024, Hard: 4096 }, { Name: 'nproc', Soft: 512, Hard: 512 }]],
  ['logging', { logging: { driver: 'local', options: { 'max-size': '20m' } } }, 'logging', '--log-driver / --log-opt', 'HostConfig.LogConfig', { Type: 'local', Config: { 'max-size': '20m' } }],
  ['logging (default)', {}, '(none: Docker keeps every line)', '--log-opt max-size=10m --log-opt max-file=3', 'HostConfig.LogConfig', { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } }],
  ['stopSignal', { stopSignal: 'SIGQUIT' }, 'stop_signal', '--stop-signal', 'StopSignal', 'SIGQUIT'],
  ['entrypoint', { entrypoint: ['/bin/sh', '-c'] }, 'entrypoint', '--entrypoint', 'Entrypoint', ['/bin/sh', '-c']],
  ['workingDir', { workingDir: '/app' }, 'working_dir', '--workdir', 'WorkingDir', '/app'],
  ['extraHosts', { extraHosts: { 'db.internal': '10.0.0.9', gw: 'host-gateway' } }, 'extra_hosts', '--add-host', 'HostConfig.ExtraHosts', ['db.internal:10.0.0.9', 'gw:host-gateway']],
  ['init', { init: false }, 'init', '--init', 'HostConfig.Init', false],
  ['init (default)', {}, 'init', '--init', 'HostConfig.Init', true],
  ['hostname', { hostname: 'web' }, 'hostname', '--hostname', 'Hostname', 'web'],
]

const at = (obj: unknown, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj)

describe('createOptions: each container setting lands where its Compose key / docker run flag would put it', () => {
  it.each(TABLE.map(([name, settings, compose, flag, path, expected]) => [name, compose, flag, settings, path, expected] as const))('%s (Compose %s, docker run %s)', (_name, _compose, _flag, settings, path, expected) => {
    expect(at(run(settings).create, path)).toEqual(expected)
  })

  it('leaves unset settings out, so Docker and the image decide', () => {
    const { create } = run({})
    for (const path of ['User', 'WorkingDir', 'Hostname', 'StopSignal', 'Entrypoint', 'HostConfig.Memory', 'HostConfig.NanoCpus', 'HostConfig.Mounts', 'HostConfig.NetworkMode', 'HostConfig.ReadonlyRootfs', 'NetworkingConfig']) {
      expect(at(create, path), path).toBeUndefined()
    }
  })

  it('joins the first network at create and the others by connect before start (Engine API 1.41 takes one)', () => {
    const plan = run({ networks: ['a', { name: 'b', aliases: ['x', 'y'] }, 'c'] })
    expect(plan.create.HostConfig?.NetworkMode).toBe('a')
    expect(plan.connect).toEqual([{ network: 'b', aliases: ['x', 'y'] }, { network: 'c', aliases: [] }])
  })

  it('keeps what forrest relies on (name, labels, published port, restart policy) whatever the settings say', () => {
    const { create } = run({ networks: ['backend'], readOnly: true, init: false })
    expect(create.name).toBe('myapp-1')
    expect(create.Labels).toEqual({ 'forrest.app': 'myapp' })
    expect(create.HostConfig?.PortBindings).toEqual({ '8080/tcp': [{ HostIp: '10.0.0.5', HostPort: '20001' }] })
    expect(create.HostConfig?.RestartPolicy).toEqual({ Name: 'unless-stopped' })
  })

  it('records the grace period on the container, so a docker stop by hand waits as long', () => {
    expect(run({}, { stopGraceSeconds: 25 }).create.StopTimeout).toBe(25)
  })
})

describe('parseBytes', () => {
  it.each([
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['64k', 65536],
    ['100b', 100],
    ['512MB', 512 * 1024 ** 2],
    ['512MiB', 512 * 1024 ** 2],
  ])('%s → %d', (text, bytes) => expect(parseBytes(text)).toBe(bytes))
  it.each(['512', '', 'm', '-1m', '0m', '1t', '1 gigabyte'])('refuses %j', (text) => expect(parseBytes(text)).toBeUndefined())
})

describe('container settings in the revision', () => {
  const spec = (container?: unknown) => deploymentSchema.parse({ name: 'myapp', image: 'demo/myapp:1', ...(container ? { container } : {}) })
  it('an app without settings has none in its template (its hash is what it was before settings existed)', () => {
    const without = spec()
    expect(without.container).toBeUndefined()
    expect(specTemplateHash(without, 'sha256:x')).not.toBe(specTemplateHash(spec({ init: true }), 'sha256:x'))
  })
  it('a changed setting is a new template hash, and diff says which', () => {
    const a = spec({ resources: { memory: '256m' }, networks: ['backend'] })
    const b = spec({ resources: { memory: '512m' }, networks: ['backend'] })
    expect(specTemplateHash(a, 'sha256:x')).not.toBe(specTemplateHash(b, 'sha256:x'))
    expect(specTemplateHash(a, 'sha256:x')).toBe(specTemplateHash(spec({ networks: ['backend'], resources: { memory: '256m' } }), 'sha256:x'))
    expect(diffSpecs(a, b)).toEqual(['container.resources.memory 256m → 512m'])
    expect(diffSpecs(spec(), spec({ readOnly: true }))).toEqual(['container.readOnly (unset) → true'])
  })
})

describe('container settings: bad values', () => {
  const problem = (settings: unknown) => {
    const r = containerSettingsSchema.safeParse(settings)
    expect(r.success).toBe(false)
    return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')
  }
  it.each([
    [{ resources: { memory: 512 } }, 'resources.memory: memory: a number without a unit is ambiguous'],
    [{ resources: { memory: '4m' } }, 'resources.memory: Docker refuses a memory limit below 6m'],
    [{ resources: { memory: '256m', memoryReservation: '512m' } }, 'resources.memoryReservation: must be at most resources.memory'],
    [{ resources: { cpus: -1 } }, 'resources.cpus: expected a number of CPUs more than 0'],
    [{ resources: { pids: 0 } }, 'resources.pids: expected a whole number of processes >= 1'],
    [{ volumes: ['data:/a', 'other:/a'] }, 'volumes.1: two mounts at /a'],
    [{ volumes: ['/srv:relative'] }, 'volumes.0: container path "relative" is relative'],
    [{ capDrop: ['NET_MAGIC'] }, 'capDrop.0: unknown capability "NET_MAGIC"'],
    [{ networks: ['backend', 'backend'] }, 'networks.1: network backend is listed twice'],
    [{ networks: ['-x'] }, 'networks.0: Docker would refuse the network name "-x"'],
    [{ networks: ['bridge'] }, 'networks.0: "bridge" is not a user-defined network'],
    [{ stopSignal: 'TERM please' }, 'stopSignal: expected a signal like SIGTERM'],
    [{ ulimits: { nofile: { soft: 4096, hard: 1024 } } }, 'ulimits.nofile: soft must be at most hard'],
    [{ extraHosts: { db: 'not-an-ip' } }, 'extraHosts.db: expected an IP address or host-gateway'],
    [{ workingDir: 'app' }, 'workingDir: expected an absolute path'],
  ])('%j', (settings, message) => expect(problem(settings)).toContain(message))
})

describe('deployments/myapp.yml: the commented container block', () => {
  it('is valid once uncommented, and sets every container setting', async () => {
    const { readFileSync } = await import('node:fs')
    const { loadSpec } = await import('../../src/spec/index.js')
    const text = readFileSync('deployments/myapp.yml', 'utf8')
    const at = text.indexOf('# container:')
    const block = text.slice(at).split('\n').map((l) => (l.startsWith('# ') ? l.slice(2) : l)).join('\n')
    const spec = loadSpec(text.slice(0, at) + block, 'deployments/myapp.yml')
    expect(Object.keys(spec.container ?? {}).sort()).toEqual(Object.keys(containerSettingsSchema.shape).sort())
  })
})
