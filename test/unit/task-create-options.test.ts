import { describe, expect, it } from 'vitest'
import { createOptions, taskCreateOptions } from '../../src/docker/create-options.js'
import { containerSettingsSchema } from '../../src/spec/container.js'

/** Every setting at once: a task (release command, forrest run) gets them as an instance does. */
const settings = containerSettingsSchema.parse({
  networks: ['front', { name: 'back', aliases: ['migrator'] }, 'third'],
  volumes: ['uploads:/data', '/srv/sock:/run/sock:ro', { type: 'tmpfs', target: '/tmp', size: '64m' }],
  resources: { memory: '512m', memoryReservation: '256m', cpus: 1.5, pids: 200 },
  user: '1000:1000',
  readOnly: true,
  capAdd: ['NET_BIND_SERVICE'],
  capDrop: ['ALL'],
  noNewPrivileges: true,
  ulimits: { nofile: { soft: 1024, hard: 4096 } },
  logging: { driver: 'local', options: { 'max-size': '20m' } },
  stopSignal: 'SIGQUIT',
  entrypoint: ['/bin/sh', '-c'],
  workingDir: '/app',
  extraHosts: { 'db.internal': '10.0.0.9' },
  hostname: 'web',
})
const labels = { 'forrest.app': 'myapp', 'forrest.kind': 'release' }
const task = (s = settings) => taskCreateOptions({ name: 'myapp-release-2', image: 'demo/myapp:2', env: { A: '1' }, command: ['migrate'], labels, settings: s })

describe('taskCreateOptions: a task container gets the revision\'s container settings', () => {
  it('maps the settings exactly as an instance\'s create options do, minus port, restart policy and stop timeout', () => {
    const instance = createOptions({ name: 'myapp-release-2', image: 'demo/myapp:2', env: { A: '1' }, command: ['migrate'], labels, settings, containerPort: 8080, bindIp: '10.0.0.5', hostPort: 20001, restart: 'unless-stopped', stopGraceSeconds: 25 })
    const { ExposedPorts: _e, StopTimeout: _s, HostConfig: hc, ...rest } = instance.create
    const { PortBindings: _p, RestartPolicy: _r, ...hostConfig } = hc!
    const t = task()
    expect(t.create).toEqual({ ...rest, HostConfig: { ...hostConfig, RestartPolicy: { Name: 'no' } } })
    expect(t.connect).toEqual(instance.connect)
    expect(t.connect).toEqual([{ network: 'back', aliases: ['migrator'] }, { network: 'third', aliases: [] }])
    expect(t.create.HostConfig?.NetworkMode).toBe('front')
    expect(t.create.HostConfig?.Mounts).toHaveLength(3)
    expect(t.create.User).toBe('1000:1000')
    expect(t.create.HostConfig?.ReadonlyRootfs).toBe(true)
  })

  it('never publishes a port nor restarts, keeps an init process and forrest\'s labels, with or without settings', () => {
    for (const t of [task(), task(undefined), task(containerSettingsSchema.parse({ init: false }))]) {
      expect(t.create.ExposedPorts).toBeUndefined()
      expect(t.create.HostConfig?.PortBindings).toBeUndefined()
      expect(t.create.HostConfig?.PublishAllPorts).toBeUndefined()
      expect(t.create.HostConfig?.RestartPolicy).toEqual({ Name: 'no' })
      expect(t.create.HostConfig?.Init).toBe(true)
      expect(t.create.Labels).toEqual(labels)
    }
  })

  it('carries the attach flags and the terminal size of forrest run', () => {
    const t = taskCreateOptions({ image: 'demo/myapp:2', command: ['sh'], labels, io: { Tty: true, OpenStdin: true, AttachStdout: true }, consoleSize: { rows: 40, columns: 120 } })
    expect(t.create).toMatchObject({ Tty: true, OpenStdin: true, AttachStdout: true, HostConfig: { ConsoleSize: [40, 120] } })
  })
})
