import { describe, expect, it } from 'vitest'
import type { ContainerRuntime } from '../../src/docker/runtime.js'
import { checkHostSettings } from '../../src/engine/settings-preflight.js'
import { ForrestError } from '../../src/errors.js'
import type { HostState } from '../../src/hosts/fleet.js'
import { containerSettingsSchema } from '../../src/spec/container.js'

/** A host whose engine reports the given problems (and counts how often it was asked). */
function host(name: string, problems: string[], labels: Record<string, string> = {}, error?: ForrestError): HostState & { asked: () => number } {
  let asked = 0
  const runtime = { checkSettings: async () => (asked++, problems) } as unknown as ContainerRuntime
  return { host: { name, address: '10.0.0.1', labels, endpoint: 'unix:///x', runtime }, ...(error ? { error } : {}), asked: () => asked }
}

const container = containerSettingsSchema.parse({ networks: ['backend'], volumes: ['/srv/x:/x'] })

describe('checkHostSettings: before anything changes', () => {
  it('names every host and what it lacks, at once, as HOST_NOT_READY (exit 2)', async () => {
    const err = await checkHostSettings({ container }, 'img', [host('a', ['network backend does not exist']), host('b', ['network backend does not exist', 'bind mount source /srv/x does not exist'])], 'app.yml').catch((e) => e)
    expect(err).toBeInstanceOf(ForrestError)
    expect(err.code).toBe('HOST_NOT_READY')
    expect(err.exit).toBe(2)
    expect(err.message.split('\n')).toEqual([
      'app.yml: container settings cannot be met; nothing was changed:',
      '  host a: network backend does not exist',
      '  host b: network backend does not exist',
      '  host b: bind mount source /srv/x does not exist',
    ])
    expect(err.suggestion).toContain('docker network create')
  })

  it('asks only hosts that may run the app: placement labels match, engine reached', async () => {
    const placed = host('a', [], { pool: 'web' })
    const elsewhere = host('b', ['network backend does not exist'], { pool: 'db' })
    const down = host('c', ['network backend does not exist'], { pool: 'web' }, new ForrestError('DOCKER_UNREACHABLE', 'down'))
    await expect(checkHostSettings({ container, placement: { labels: { pool: 'web' } } }, 'img', [placed, elsewhere, down], 'app.yml')).resolves.toBeUndefined()
    expect([placed.asked(), elsewhere.asked(), down.asked()]).toEqual([1, 0, 0])
  })

  it('asks no engine when the settings need nothing of a host (no networks, no bind mounts)', async () => {
    const h = host('a', ['never asked'])
    await checkHostSettings({ container: containerSettingsSchema.parse({ volumes: ['data:/data'], readOnly: true }) }, 'img', [h], 'app.yml')
    await checkHostSettings({}, 'img', [h], 'app.yml')
    expect(h.asked()).toBe(0)
  })
})
