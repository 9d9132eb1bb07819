/**
 * What the engine takes and gives back: the request a verb hands to a rollout, its result, and the
 * report of each step. Types only, and nothing here imports the engine's code: verbs, commands
 * and renderers (report/) read these without reaching into the modules that do the work.
 */
import type { HostState } from '../hosts/fleet.js'
import type { HostAvailabilityRecord } from '../registry/host-availability.js'
import type { CanaryAnalysis } from '../plan/canary.js'
import type { PlanStep, RolloutPlan } from '../plan/types.js'
import type { RendererName } from '../report/renderer.js'
import type { DeploymentSpec } from '../spec/types.js'
import type { AnnounceChoice } from './preflight.js'
import type { ResolvedEnv } from './secrets.js'

/** A resolved spec: port known, announce prefix and address filled in from flags/env. */
export type ResolvedSpec = DeploymentSpec & { port: number; announce: { prefix: string; address: string } }

export interface RolloutRequest {
  /** drain: the current revision and count again, placed off a draining host (forrest host drain). */
  kind: 'deploy' | 'scale' | 'rollback' | 'promote' | 'abort' | 'drain'
  spec: ResolvedSpec
  /** The spec's env with its secrets read (in memory only), and their fingerprints. */
  env: ResolvedEnv
  imageId: string
  /** The registry digest the image resolved to (and is present as on the host), if it came from a registry. */
  digest?: string
  replicas: number
  /** rollback: the revision whose spec and image this restores. */
  restoredFrom?: number
  /**
   * promote/abort: converge to this existing revision (no new one), and the revision held after
   * its canary, which must still be waiting under the lock (abort then marks it rolled back).
   */
  resume?: { revision: number; waiting: number }
  /** rollback onto the colour blue/green kept: converge to this existing revision (its instances stand by at weight 0), switching back to them. */
  standby?: number
  /** scale/rollback: the current revision the request was computed from; checked under the lock. */
  expectRevision?: number
  dryRun?: boolean
  waitLockMs?: number
  /** Roll on the hosts that answer when some do not (bounds then hold for the reachable ones). */
  allowUnreachableHosts?: boolean
  /** deploy: whether the announce prefix and address were chosen explicitly (preflight.ts). */
  announceChoice?: AnnounceChoice
  /** Lines the plan starts with (e.g. that the announce address was detected). */
  notes?: string[]
  /** The app's hosts, already reached (and their images checked) by the verb. */
  hosts: HostState[]
  /** deploy --forget-host: hosts that left the app's list and do not answer; their instances' keys and records are withdrawn. */
  forgetHosts?: string[]
  /** Hosts that are cordoned, draining or drained (read by the rollout under the app's lock). */
  availability?: ReadonlyMap<string, HostAvailabilityRecord>
  renderer: RendererName
  signal: AbortSignal
  actor: string
  command: string
}

/** What the command layer supplies to every rollout verb. */
export type RolloutOptions = Pick<RolloutRequest, 'dryRun' | 'waitLockMs' | 'allowUnreachableHosts' | 'renderer' | 'signal' | 'actor' | 'command'>

export interface RolloutResult {
  app: string
  /** waiting: update.canary.pause held the rollout after a passing canary (thrown as WAITING_FOR_PROMOTION). */
  outcome: 'noop' | 'dry-run' | 'succeeded' | 'waiting' | 'rolled-back' | 'failed'
  revision: number
  fromRevision?: number
  replicas: number
  plan: RolloutPlan
  instances: Array<{ name: string; revision?: number; address?: string; registered: boolean; running: boolean; process?: string }>
  /** Workers' replica counts by process (web's is `replicas`); absent for an app of one process. */
  processes?: Record<string, number>
  timings: { totalMs: number; steps: ExecutionReport['steps'] }
  notes: string[]
  /** What changes from the current revision (spec lines, as recorded in the revision). */
  changes: string[]
  /** deploy: the image as resolved at plan time, and the hosts that pulled it. */
  image?: { ref: string; digest?: string; imageId: string; pulled: string[] }
  /** update.canary: the canary's and the stable instances' figures over the window, and the verdict. */
  canary?: CanaryAnalysis
  /** release: the release command run before the new revision's instances (deploy of a new revision only). */
  release?: ReleaseReport
}

/** The release command of a new revision: where it ran, how it ended, its output (secrets masked). */
export interface ReleaseReport {
  command: string[]
  host: string
  exitCode: number
  timedOut: boolean
  durationMs: number
  output: string[]
}

export interface StepReport {
  kind: PlanStep['kind']
  instance: string
  /** A worker process's step (absent: web). */
  process?: string
  revision?: number
  /** The Docker host of the instance (absent for an app without a hosts: list). */
  host?: string
  ok: boolean
  ms: number
  detail: string
  /** When the step began (epoch ms), and when its instance reached each phase (a deferred stop lands after the step ends). */
  at: number
  events: Array<{ phase: StepPhase; at: number }>
}

export interface ExecutionReport {
  steps: StepReport[]
  ms: number
  /** The canary passed and the rollout holds after it, waiting for `forrest promote` or `forrest abort`. */
  held?: boolean
}

/** What a step reached, in order: a start's started → healthy → announced → acked; a retire's withdrawn → drained → stopped. */
/** `switched`: blue/green moved all traffic to it (until then it served at weight 0, checked, no traffic). */
export type StepPhase = 'started' | 'healthy' | 'announced' | 'acked' | 'switched' | 'withdrawn' | 'drained' | 'stopped'

export type OperateOptions = Omit<RolloutOptions, 'dryRun'>
