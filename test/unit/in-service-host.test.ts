/**
 * Where a one-off container goes (the release command, forrest run), pure: the first reachable host
 * of the app's placement in service, passing over cordoned, draining, drained and departed hosts and
 * naming them; reachable hosts but none in service: NO_ROOM (exit 22); none reachable: undefined.
 */
import { describe, expect, it } from 'vitest'
import { inServiceHost } from '../../src/engine/in-service-host.js'
import type { ResolvedSpec } from '../../src/engine/types.js'
import { EXIT, ForrestError } from '../../src/errors.js'
import type { HostState } from '../../src/hosts/fleet.js'
import type { HostAvailabilityRecord } from '../../src/registry/host-availability.js'

const host = (name: string, engine: string | null = `e-${name}`): HostState => ({ host: { name, address: '10.0.0.1', labels: {}, endpoint: 'unix:///x', runtime: {} as HostState['host']['runtime'] }, ...(engine ? { engine } : {}) })
const spec = (names: string[]) => ({ name: 'web', hosts: names.map((n) => ({ name: n, docker: 'unix:///x', address: '10.0.0.1', labels: {} })) }) as unknown as ResolvedSpec
const marks = (m: Record<string, HostAvailabilityRecord['availability']>) => new Map(Object.entries(m).map(([k, availability]) => [k, { availability, at: 'now', by: 'me' }]))
const x = { what: 'forrest run web', retry: 'run it again' }

describe('inServiceHost', () => {
  it('the first host in service; nothing passed over, nothing said beyond the host', () => {
    const c = inServiceHost([host('h1'), host('h2')], spec(['h1', 'h2']), new Map(), x)
    expect(c?.host.name).toBe('h1')
    expect(c?.line).toBe('on h1')
  })
  it('passes over cordoned, draining, drained and departed hosts, and names them', () => {
    const c = inServiceHost([host('gone'), host('h1'), host('h2'), host('h3'), host('h4')], spec(['h1', 'h2', 'h3', 'h4']), marks({ h1: 'cordoned', h2: 'draining', h3: 'drained' }), x)
    expect(c?.host.name).toBe('h4')
    expect(c?.line).toBe("on h4 (passed over: gone not in web's hosts list, h1 cordoned, h2 draining, h3 drained)")
  })
  it('an unreachable host is skipped; none reachable: undefined (the caller says who did not answer)', () => {
    expect(inServiceHost([host('h1', null), host('h2')], spec(['h1', 'h2']), new Map(), x)?.line).toBe('on h2')
    expect(inServiceHost([host('h1', null)], spec(['h1']), new Map(), x)).toBeUndefined()
  })
  it('reachable hosts, none in service: NO_ROOM, exit 22, naming each and how to put one back', () => {
    let err: unknown
    try {
      inServiceHost([host('h1'), host('h2')], spec(['h1', 'h2']), marks({ h1: 'cordoned', h2: 'drained' }), x)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ForrestError)
    expect((err as ForrestError).exit).toBe(EXIT.noRoom)
    expect((err as ForrestError).message).toBe('forrest run web: no host of web is in service to run it on (h1 cordoned, h2 drained); nothing was started')
    expect((err as ForrestError).suggestion).toBe('Put a host back in service with forrest host uncordon NAME (forrest host ls shows each host\'s state), then run it again.')
  })
})
