import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import type { ContainerRuntime } from '../../src/docker/runtime.js'
import { dockerHealthProbe } from '../../src/health/probe.js'

/** A runtime whose container turns healthy after `after` inspections; nothing else is called. */
const runtimeHealthyAfter = (after: number) => {
  let calls = 0
  return { inspect: async () => ({ running: true, health: ++calls > after ? 'healthy' : 'starting' }) } as unknown as ContainerRuntime
}

describe('readiness probes', () => {
  it('leave no abort listener behind on the rollout-wide signal, however many polls they make', async () => {
    const signal = new AbortController().signal
    const spec = { type: 'docker' as const, path: '/', status: 200, interval: 1, timeout: 100, successes: 30, deadline: 10_000 }
    await dockerHealthProbe(runtimeHealthyAfter(5), spec).waitUntilHealthy({ containerId: 'c', name: 'n', address: '-' }, signal)
    expect(getEventListeners(signal, 'abort')).toHaveLength(0)
  })
})
