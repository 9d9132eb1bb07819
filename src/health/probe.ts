import { request } from 'node:http'
import createDebug from 'debug'
import type { ContainerRuntime } from '../docker/runtime.js'
import { ForrestError } from '../errors.js'
import type { HealthSpec } from '../spec/types.js'

const debug = createDebug('forrest:health')

export interface ProbeTarget {
  containerId: string
  name: string
  /** host:port the probe reaches the container on. */
  address: string
}

/**
 * Readiness as a strategy: one interface, a deadline, polling at the spec's interval with no
 * fixed sleeps. Resolves when ready; throws ROLLOUT_FAILED (with the reason) when not.
 */
export interface ReadinessProbe {
  waitUntilHealthy(target: ProbeTarget, signal?: AbortSignal): Promise<{ ms: number }>
}

/** Waits one poll interval; the abort listener is removed again, so a long soak leaks none. */
const tick = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t)
      reject(signal?.reason ?? new Error('aborted'))
    }
    const t = setTimeout(() => { // the poll interval between probes
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms) // poll interval between probe attempts
    signal?.addEventListener('abort', onAbort, { once: true })
  })

type Check = () => Promise<{ ok: boolean; detail: string }>

/** Polls check until `successes` consecutive passes, or fails at the deadline / container exit. */
async function poll(runtime: ContainerRuntime, spec: HealthSpec, target: ProbeTarget, check: Check, signal?: AbortSignal) {
  const started = Date.now()
  const deadline = started + spec.deadline
  let streak = 0
  let last = 'no probe yet'
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted()
    const r = await check()
    last = r.detail
    streak = r.ok ? streak + 1 : 0
    if (streak >= spec.successes) {
      debug('%s healthy after %dms', target.name, Date.now() - started)
      return { ms: Date.now() - started }
    }
    // A container that exited (or that Docker restarts after a crash) will never become healthy
    // in time: stop waiting early, and at the deadline name the crash rather than the probe.
    const atDeadline = Date.now() + spec.interval > deadline
    if (!r.ok && (attempt % 5 === 1 || atDeadline)) await throwIfCrashed(runtime, target)
    if (atDeadline) {
      throw new ForrestError('ROLLOUT_FAILED', `${target.name} was not healthy within ${spec.deadline}ms (last probe: ${last})`)
    }
    await tick(spec.interval, signal)
  }
}

/** Exited, or restarted by Docker after exiting: ROLLOUT_FAILED saying so, with its exit code. */
async function throwIfCrashed(runtime: ContainerRuntime, target: ProbeTarget): Promise<void> {
  let info = await runtime.inspect(target.containerId)
  if (info?.running && !info.restartCount) return
  // Running again after a restart, its exit code is reset: catch its next exit (crash loops
  // come back within Docker's restart backoff) to name the code, for a short while only.
  const until = Date.now() + CATCH_EXIT_MS
  while (info?.state === 'running' && Date.now() < until) {
    await tick(50) // poll interval while waiting for the next exit of a crash-looping container
    info = await runtime.inspect(target.containerId)
  }
  const restarts = info?.restartCount ?? 0
  throw new ForrestError('ROLLOUT_FAILED', `${target.name} ${crashed(info)} before it became healthy${restarts ? ` (Docker restarted it ${restarts} time${restarts === 1 ? '' : 's'})` : ''}`)
}

/** How long a restarted container is watched for its next exit, to name its exit code. */
const CATCH_EXIT_MS = 3000

const crashed = (info: { state: string; exitCode?: number } | undefined) =>
  !info ? 'was removed' : info.exitCode !== undefined ? `exited with code ${info.exitCode}` : info.state === 'running' ? 'exited and was restarted' : `exited (${info.state})`

/**
 * One HTTP probe: GET <path> must answer <status> within the timeout (the whole exchange, body
 * included), on a connection of its own, with no redirect followed (HAProxy's check follows none
 * either). Never throws. node:http rather than fetch: `forrest status` probes every instance at
 * once, and fetch's first call alone loads and compiles undici (~40 ms of CPU).
 */
export function httpCheck(address: string, spec: Pick<HealthSpec, 'path' | 'status' | 'timeout'>): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const colon = address.lastIndexOf(':')
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const finish = (r: { ok: boolean; detail: string }, err?: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) debug('probe %s: %s', address, err.message)
      resolve(r)
    }
    const fail = (err: Error & { code?: string }) => finish({ ok: false, detail: err.code ?? err.name }, err)
    const req = request({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), path: spec.path, agent: false, headers: { connection: 'close' } }, (res) => {
      res.on('error', fail)
      res.on('end', () => finish({ ok: res.statusCode === spec.status, detail: `HTTP ${res.statusCode}` }))
      res.resume()
    })
    timer = setTimeout(() => { // the probe's deadline
      const err = Object.assign(new Error(`no answer within ${spec.timeout}ms`), { name: 'TimeoutError' })
      fail(err)
      req.destroy(err)
    }, spec.timeout)
    req.on('error', fail)
    req.end()
  })
}

export function httpProbe(runtime: ContainerRuntime, spec: HealthSpec): ReadinessProbe {
  return {
    waitUntilHealthy: (target, signal) => poll(runtime, spec, target, () => httpCheck(target.address, spec), signal),
  }
}

export function dockerHealthProbe(runtime: ContainerRuntime, spec: HealthSpec): ReadinessProbe {
  return {
    waitUntilHealthy: (target, signal) =>
      poll(runtime, spec, target, async () => {
        const info = await runtime.inspect(target.containerId)
        return { ok: info?.health === 'healthy', detail: `docker health ${info?.health ?? 'none'}` }
      }, signal),
  }
}

/** health.type none: ready as soon as the container is running. */
export function runningProbe(runtime: ContainerRuntime): ReadinessProbe {
  return {
    async waitUntilHealthy(target) {
      const info = await runtime.inspect(target.containerId)
      if (!info?.running) throw new ForrestError('ROLLOUT_FAILED', `${target.name} ${crashed(info)} before it became healthy`)
      return { ms: 0 }
    },
  }
}

/**
 * A worker's health.running: healthy once the container has run that long since it (last)
 * started, without Docker restarting it; an exit or restart in that time fails it (poll says which).
 */
export function runningForProbe(runtime: ContainerRuntime, spec: HealthSpec & { running: number }): ReadinessProbe {
  const running = spec.running
  return {
    waitUntilHealthy: (target, signal) =>
      poll(runtime, { ...spec, successes: 1, deadline: spec.deadline + running }, target, async () => {
        const info = await runtime.inspect(target.containerId)
        // Not running, or restarted: never ok; poll names the exit (its crash check) or fails at the deadline.
        const up = info?.running && !info.restartCount && info.startedAt ? Date.now() - info.startedAt.getTime() : 0
        return { ok: up >= running, detail: `running ${up}ms of ${running}ms` }
      }, signal),
  }
}

/** A worker's health.command: run inside the container each interval, exit 0 passes (Compose's healthcheck test). */
export function commandProbe(runtime: ContainerRuntime, spec: HealthSpec & { command: string[] }): ReadinessProbe {
  return {
    waitUntilHealthy: (target, signal) =>
      poll(runtime, spec, target, async () => {
        const r = await runtime.exec(target.containerId, spec.command, spec.timeout).catch((err: Error) => ({ exitCode: -1, output: err.message }))
        const last = r.output.trim().split('\n').at(-1) ?? ''
        return { ok: r.exitCode === 0, detail: `health command exit ${r.exitCode}${last ? `: ${last.slice(0, 200)}` : ''}` }
      }, signal),
  }
}

export function probeFor(runtime: ContainerRuntime, spec: HealthSpec): ReadinessProbe {
  switch (spec.type) {
    case 'http':
      return httpProbe(runtime, spec)
    case 'docker':
      return dockerHealthProbe(runtime, spec)
    case 'none':
      return spec.running ? runningForProbe(runtime, { ...spec, running: spec.running }) : runningProbe(runtime)
    case 'command':
      if (!spec.command) throw new ForrestError('INTERNAL', 'health type command without a command')
      return commandProbe(runtime, { ...spec, command: spec.command })
  }
}
