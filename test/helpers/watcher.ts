import Docker from 'dockerode'
import { Etcd3 } from 'etcd3'

export interface WatchReport {
  polls: number
  /** Fewest registered keys whose address answered 200, over all polls. */
  minServing: number
  /** Most containers at once, terminating ones included; created ahead and never started ones not (they run nothing, #30). */
  maxContainers: number
  /** Most containers at once that were created and not started (created ahead, #30). */
  maxCreated: number
  /**
   * Most containers at once that are in service or coming into service: every container except
   * those seen registered earlier and withdrawn since (terminating, which maxSurge does not count).
   */
  maxActive: number
  /** Registered addresses that did not answer (address: reason). */
  failures: string[]
  bodies: Set<string>
}

/**
 * Polls, until stopped: the etcd keys under a prefix, an HTTP GET of every address they name,
 * and the number of containers with a label. What a load balancer fed from etcd would see.
 */
export function watchServing(opts: { etcd: string; prefix: string; label: string; intervalMs?: number }) {
  const client = new Etcd3({ hosts: `http://${opts.etcd}` })
  const docker = new Docker()
  const report: WatchReport = { polls: 0, minServing: Number.POSITIVE_INFINITY, maxContainers: 0, maxCreated: 0, maxActive: 0, failures: [], bodies: new Set() }
  const everRegistered = new Set<string>()
  let running = true
  const loop = (async () => {
    while (running) {
      const [kvs, all] = await Promise.all([
        client.getAll().prefix(`/${opts.prefix}/`).strings(),
        docker.listContainers({ all: true, filters: { label: [opts.label] } }),
      ])
      report.maxCreated = Math.max(report.maxCreated, all.filter((c) => c.State === 'created').length)
      // A created, never-started container takes no CPU, memory or traffic: not counted against maxSurge (#30).
      const containers = all.filter((c) => c.State !== 'created')
      const results = await Promise.all(
        Object.values(kvs).map(async (addr) => {
          try {
            const res = await fetch(`http://${addr}/`, { signal: AbortSignal.timeout(2000) })
            const body = (await res.text()).trim()
            report.bodies.add(body)
            if (res.status !== 200) report.failures.push(`${addr}: HTTP ${res.status}`)
            return res.status === 200
          } catch (err) {
            report.failures.push(`${addr}: ${(err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`)
            return false
          }
        }),
      )
      report.polls++
      report.minServing = Math.min(report.minServing, results.filter(Boolean).length)
      report.maxContainers = Math.max(report.maxContainers, containers.length)
      const registered = new Set(Object.keys(kvs).map((k) => k.split('/').at(-1)!))
      for (const n of registered) everRegistered.add(n)
      const names = containers.map((c) => (c.Names[0] ?? '').replace(/^\//, ''))
      report.maxActive = Math.max(report.maxActive, names.filter((n) => registered.has(n) || !everRegistered.has(n)).length)
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50)) // watcher poll interval
    }
  })()
  return {
    report,
    async stop(): Promise<WatchReport> {
      running = false
      await loop
      client.close()
      return report
    },
  }
}
