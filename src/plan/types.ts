/**
 * The data the planner consumes and produces. Plain data only: printable, diffable, and
 * asserted on in unit tests. The executor (src/engine) turns a RolloutPlan into listr2 tasks.
 */

/** One instance as observed in Docker (forrest-labelled containers) and etcd (keys). */
export interface ObservedInstance {
  /** Instance name = container name = last segment of its etcd key. */
  name: string
  /** Docker container id; undefined when only an etcd key exists (its container is gone). */
  containerId?: string
  /** Revision from the container's forrest.revision label; undefined for a key with no container. */
  revision?: number
  /** Container is running (State.Running). */
  running: boolean
  /** A key for this instance exists under the announce prefix. */
  registered: boolean
  /** ip:port, from the key when registered, else from the container's published port. */
  address?: string
  /** The etcd prefix its key is (or would be) under: its own, which may not be the target's. */
  prefix?: string
  /** The container's template hash label: adopted only when it matches the target's. */
  template?: string
  /** The Docker host it runs on (or, for a key with no container, its record says it ran on). */
  host?: string
  /** Its process (the container's forrest.process label); absent: web, the announced one. */
  process?: string
}

export interface ObservedState {
  app: string
  /** The revision currently recorded as current in forrest's records, if any. */
  currentRevision?: number
  instances: ObservedInstance[]
  /** Container names taken by containers that are not ours (another environment's): never reused. */
  reserved?: string[]
}

/** What the rollout should converge to. */
export interface RolloutTarget {
  revision: number
  /** The target revision's template hash; a container of the same revision number but another hash is not adopted. */
  templateHash?: string
  replicas: number
  /** Update strategy, already resolved from the spec (counts, not percentages). */
  maxSurge: number
  maxUnavailable: number
  order: 'start-first' | 'stop-first'
  /**
   * The hosts new instances may go to (reachable, matching the placement), in inventory order.
   * Absent: one implicit host, and steps carry no host.
   */
  hosts?: string[]
  /** Of `hosts`: cordoned ones (forrest host cordon), which keep what runs there but get no new instance. */
  cordoned?: string[]
}

/**
 * Which process a step belongs to. Absent: web, announced as always. A worker's step carries
 * `announced: false`: no published port, no key, no gateway acknowledgement, no drain (plan/processes.ts).
 */
export interface ProcessOfStep {
  process?: string
  announced?: false
}

/** Start one new instance: launch → wait until healthy → (soak) → announce (a worker: launch → healthy). */
export interface StartStep extends ProcessOfStep {
  kind: 'start'
  instance: string
  revision: number
  host?: string
  /** Announced with this traffic weight (0: checked by HAProxy, no traffic; a weighted canary's). Absent: the default. */
  weight?: number
}

/** Take an already running, unregistered container of the target revision into service: health → announce. */
export interface AdoptStep extends ProcessOfStep {
  kind: 'adopt'
  instance: string
  revision: number
  host?: string
  /** Announced with this traffic weight (blue/green: 0). Absent: the default. */
  weight?: number
}

/** Retire an instance: withdraw (if registered) → drain (if it was registered and running) → stop → remove. */
export interface RetireStep extends ProcessOfStep {
  kind: 'retire'
  instance: string
  revision?: number
  registered: boolean
  running: boolean
  /** The prefix its key is under (a prefix migration withdraws it there). */
  prefix?: string
  host?: string
  /** Why it goes: replaced by a new revision, scaled down, or drift repair. */
  reason: 'replace' | 'scale-down' | 'stale-key' | 'orphan' | 'rebalance'
  /** A worker's: ms between its stop signal and SIGKILL (the process's stopGracePeriod). */
  stopGracePeriod?: number
}

export type PlanStep = StartStep | AdoptStep | RetireStep

/**
 * A wave runs its steps in parallel: with order start-first every start/adopt of the wave
 * finishes before any retire of the wave begins; with stop-first retires go first.
 * Waves run one after another.
 */
export interface Wave {
  order: 'start-first' | 'stop-first'
  starts: Array<StartStep | AdoptStep>
  retires: RetireStep[]
  /** The canary wave (update.canary): its starts are judged on real traffic before any later wave runs. */
  canary?: true
  /** Blue/green: its starts are at weight 0; once they serve, all traffic switches to them in one step. */
  switch?: true
}

export type PlanAction = 'noop' | 'create' | 'scale' | 'update' | 'repair'

export interface RolloutPlan {
  app: string
  action: PlanAction
  fromRevision?: number
  toRevision: number
  replicas: number
  /** Workers' replica counts, by process (web's is `replicas`); absent for an app of one process. */
  processes?: Record<string, number>
  waves: Wave[]
  /** Human-readable lines explaining the plan (what changed, why nothing to do, drift found). */
  notes: string[]
}
