/**
 * The deployment spec schema (zod). It is the single source for validation, defaults and the
 * published JSON Schema (json-schema.ts): input = what users write, output = DeploymentSpec.
 * Messages here name the fix; generic messages come from the error map in issues.ts.
 */
import { z } from 'zod'
import { normalizePrefix } from '../config.js'
import { DURATION_PATTERN, durationMistake, MAX_DURATION, MAX_DURATION_MS, POSITIVE_DURATION_PATTERN, parseDuration } from './duration.js'
import { CONTAINER_KNOWN_KEYS, containerSettingsSchema } from './container.js'
import { ownCredentialProblem } from './own-credentials.js'
import { REQUEST_TARGET_PATTERN, requestTargetProblem } from './request-target.js'
import { IMAGE_REFERENCE_MAX, IMAGE_REFERENCE_PATTERN, imageReferenceProblem } from './image-reference.js'
import { checkBounds, checkProcesses, liftProcesses, PROCESS_NAME_PATTERN, processNameMessage } from './processes.js'

export const NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,40}$'
/** 0% to 100%: more than all replicas is a typo, not a strategy. */
export const PERCENT_PATTERN = '^(?:100|[1-9]?[0-9])%$'
/**
 * Environment variable names: POSIX's portable names (letters, digits, "_", not starting with a
 * digit) plus "." and "-", which images read (Elasticsearch's `discovery.type`) though a shell
 * cannot. Docker takes anything but "=", so a stray space or "$" would reach the container as a
 * variable nothing reads; Compose is as loose. Stricter would refuse working images.
 */
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]*$'
const RESERVED_LABEL_PREFIX = 'forrest.'

const COUNT_OR_PERCENT_MESSAGE = 'expected an integer >= 0 or a percentage like "25%"'

/** `zeroBecause`: why 0 is refused for this duration (it must then be more than 0). */
const duration = (fallback: string, description: string, zeroBecause?: string) =>
  z
    .string({ error: (iss) => durationMistake(iss.input) })
    .regex(new RegExp(zeroBecause ? POSITIVE_DURATION_PATTERN : DURATION_PATTERN), {
      error: (iss) => (zeroBecause && parseDuration(String(iss.input)) === 0 ? `must be longer than 0: ${zeroBecause}` : durationMistake(iss.input)),
    })
    // Node runs a timer longer than 2^31-1 ms (24.8 days) at once; 24h is a round bound below that.
    .refine((text) => (parseDuration(text) ?? 0) <= MAX_DURATION_MS, { error: (iss) => `must be at most ${MAX_DURATION}, got ${String(iss.input)}` })
    .transform((text) => parseDuration(text) as number)
    .prefault(fallback)
    .describe(`${description} Duration: "500ms", "10s", "2m", "1h", "1m30s"; ${zeroBecause ? 'more than 0 and ' : ''}at most ${MAX_DURATION}. Default ${fallback}.`)

const percentMessage = (input: unknown) =>
  typeof input === 'string' && /^\d+%$/.test(input) ? `a percentage is at most 100%, got "${input}"` : COUNT_OR_PERCENT_MESSAGE

const countOrPercent = (fallback: number, description: string) =>
  z
    .union(
      [
        z.int(COUNT_OR_PERCENT_MESSAGE).min(0, COUNT_OR_PERCENT_MESSAGE),
        z.string(COUNT_OR_PERCENT_MESSAGE).regex(new RegExp(PERCENT_PATTERN), { error: (iss) => percentMessage(iss.input) }),
      ],
      { error: COUNT_OR_PERCENT_MESSAGE },
    )
    .default(fallback)
    .describe(description)

function envNameMessage(input: unknown): string {
  const name = String(input)
  if (name === '') return 'an environment variable name cannot be empty'
  if (name.includes('=')) return 'environment variable names cannot contain "="'
  if (/\s/.test(name)) return `environment variable name ${JSON.stringify(name)} contains whitespace (did you mean ${name.trim().replace(/\s+/g, '_')}?)`
  return `environment variable name ${JSON.stringify(name)}: use letters, digits, "_", "." and "-", starting with a letter or "_"`
}

/**
 * A secret env value: read from the deploy job's environment or a file when the rollout runs,
 * passed to the container, and never stored (a keyed fingerprint is) or printed.
 */
const secretRef = z.union([
  z.strictObject({
    fromEnv: z
      .string()
      .regex(new RegExp(ENV_NAME_PATTERN), 'expected the name of an environment variable of the deploy job')
      .superRefine((name, ctx) => {
        const problem = ownCredentialProblem(name)
        if (problem) ctx.addIssue({ code: 'custom', message: problem })
      }),
  }),
  z.strictObject({ fromFile: z.string().min(1, 'expected a file path') }),
])

/** Env and label values: scalars, stringified (YAML `true`/`8080` become "true"/"8080"). */
const scalar = (what: string) =>
  z
    .union([z.string(), z.number(), z.boolean()], {
      error: `expected a string, number or boolean ${what} (quote it if it is meant to be text)`,
    })
    .transform(String)

export const announceShape = {
  prefix: z
    .string()
    .regex(/^\/*[A-Za-z0-9._-]+(\/+[A-Za-z0-9._-]+)*\/*$/, 'expected an etcd key prefix like "app/servers"')
    .transform(normalizePrefix)
    .optional()
    .describe('etcd key prefix the instances are registered under ("/app/servers/" and "app/servers" are the same). Default: $ETCD_PREFIX, else app/servers.'),
  // IPv4 only: HAProxy server lines, confd templates and `ip:port` values all need brackets for
  // IPv6, which the original key layout never had. Rejected here rather than skipped later.
  address: z
    .ipv4({ error: (iss) => (typeof iss.input === 'string' && iss.input.includes(':') ? 'IPv6 addresses are not supported (keys are written ip:port); use the host\'s IPv4 address' : 'expected an IPv4 address like 10.0.0.5') })
    .optional()
    .describe('IPv4 address to announce (the host\'s address the load balancer reaches); published ports bind to it. Default: $FORREST_IP.'),
}

export const healthShape = {
  type: z.enum(['http', 'docker', 'none']).default('http').describe('http: GET path expects status; docker: the image HEALTHCHECK; none: running is enough.'),
  path: z
    .string()
    .superRefine((path, ctx) => {
      const problem = requestTargetProblem(path)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    })
    .meta({ pattern: REQUEST_TARGET_PATTERN })
    .optional()
    .describe('HTTP path to probe (type http only), sent as it is written: a request target like /healthz or /status?full=1 (no spaces or control characters; percent-encode anything else). Default /.'),
  status: z
    .int('expected an HTTP status code 100..599')
    .min(100, 'expected an HTTP status code 100..599')
    .max(599, 'expected an HTTP status code 100..599')
    .optional()
    .describe('Expected HTTP status (type http only). Default 200.'),
  interval: duration('200ms', 'Time between probes.', 'probes would run back to back'),
  timeout: duration('1s', 'Timeout of one probe.', 'a probe with a 0 ms timeout always fails'),
  successes: z.int().min(1).default(1).describe('Consecutive successful probes needed to be healthy.'),
  deadline: duration('30s', 'An instance not healthy by then has failed.', 'no instance could become healthy in time'),
}

/** A share of requests: "5%", "0.5%", "100%" (more than 0, at most 100, at most 2 decimals). */
const trafficShare = (description: string) =>
  z
    .string('expected a share of requests like "5%"')
    .regex(/^(?:100|[1-9]?[0-9](?:\.[0-9]{1,2})?)%$/, { error: (iss) => `expected a share of requests from "0.01%" to "100%", like "5%", got ${JSON.stringify(iss.input)}` })
    .refine((s) => parseFloat(s) > 0, 'a share of 0% would send the canary nothing to judge')
    .describe(description)

export const canaryShape = {
  count: z
    .union(
      [
        z.int('expected an integer >= 1 or a percentage like "10%"').min(1, 'a canary needs at least 1 instance'),
        z.string('expected an integer >= 1 or a percentage like "10%"').regex(/^(?:100|[1-9][0-9]?)%$/, { error: 'expected a percentage from 1% to 100%, like "10%"' }),
      ],
      { error: 'expected an integer >= 1 or a percentage like "10%"' },
    )
    .default(1)
    .describe('New instances started first and analysed: integer or "N%" of replicas (rounded up, at least 1). Default 1.'),
  window: duration('30s', 'How long the canary serves real traffic before it is judged.', 'nothing could be measured'),
  minRequests: z.int('expected an integer >= 0').min(0, 'expected an integer >= 0').default(20).describe('Responses the canary instances must have served in the window before they can pass (fewer: rolled back, nothing proven). Default 20.'),
  maxErrorRateIncrease: z.number('expected a fraction such as 0.05').min(0, 'expected a fraction from 0 to 1').max(1, 'expected a fraction from 0 to 1').default(0.05).describe("The canary's 5xx share may exceed the stable instances' by at most this (0.05 = 5 points). Default 0.05."),
  maxLatencyFactor: z.number('expected a factor such as 2').min(1, 'a factor below 1 would fail a canary as fast as stable').default(2).describe("The canary's average response time may be at most this factor of stable's (HAProxy rtime). Default 2."),
  pause: z.boolean().default(false).describe('true: stop after a passing canary and wait for `forrest promote` (exit 19). Default false.'),
  traffic: trafficShare('The share of requests the canary instances get, through HAProxy weights, whatever the replica count: "5%", "0.5%". Same as steps: [traffic].').optional(),
  steps: z
    .array(trafficShare('One step of the canary\'s share of requests.'), 'expected a list of shares like ["5%", "25%", "50%", "100%"]')
    .min(1, 'expected at least one share, like ["5%", "25%", "100%"]')
    .max(10, 'at most 10 steps (each one is a full analysis window)')
    .refine((steps) => steps.every((s, i) => i === 0 || parseFloat(s) > parseFloat(steps[i - 1]!)), 'each step must give the canary more traffic than the one before')
    .optional()
    .describe('Traffic shares the canary goes through, with an analysis over `window` at each: ["5%", "25%", "50%", "100%"]. A failed analysis at any step rolls back.'),
}

export const updateShape = {
  order: z.enum(['start-first', 'stop-first']).default('start-first').describe('start-first: start new before stopping old; stop-first: the reverse.'),
  maxSurge: countOrPercent(1, 'Instances allowed above replicas during a rollout: integer or "N%" of replicas (rounded up). Default 1.'),
  maxUnavailable: countOrPercent(0, 'Instances allowed below replicas during a rollout: integer or "N%" of replicas (rounded down). Default 0.'),
  soak: duration('0s', 'Time a new instance must stay healthy before it is announced.'),
  drain: duration('5s', 'Time between withdrawing an instance from etcd and stopping it.'),
  stopGracePeriod: duration('10s', 'Time between SIGTERM and SIGKILL.'),
  onFailure: z.enum(['rollback', 'pause']).default('rollback').describe('What to do when a new instance fails: roll back to the previous revision, or stop where it is.'),
  progressDeadline: duration('10m', 'The whole rollout must finish within this time.', 'every rollout would time out at once'),
  strategy: z
    .enum(['rolling', 'blue-green'], { error: 'expected rolling or blue-green' })
    .default('rolling')
    .describe('rolling: replace instances wave by wave (maxSurge, maxUnavailable, canary). blue-green: start the whole new revision beside the old one at weight 0 (checked by HAProxy, no traffic), then switch all traffic in one step acknowledged by every gateway; the old revision keeps running at weight 0 so `forrest rollback` switches back in one step. Needs room for two full revisions. Default rolling.'),
  blueGreen: z
    .strictObject({ pause: z.boolean().default(false).describe('true: stop before the switch and wait for `forrest promote` (exit 19). Default false.') })
    .prefault({})
    .describe('Options of update.strategy: blue-green.'),
  canary: z
    .strictObject(canaryShape)
    .refine((c) => !(c.traffic && c.steps && c.steps[0] !== c.traffic), { error: 'traffic is the first of steps: give steps alone, or traffic equal to steps[0]', path: ['traffic'] })
    .optional()
    .describe('Progressive delivery: on a new revision, start `count` instances first, judge them on real traffic through the gateways over `window`, then continue or roll back.'),
}

export const gatewaysShape = {
  required: z
    .int('expected a whole number of gateways >= 0')
    .min(0, 'expected a whole number of gateways >= 0')
    .default(0)
    .describe('Live `forrest gateway`s the prefix must have before anything changes (fewer: exit 11). 0: none needed; then without any gateway the drain time applies.'),
  timeout: duration('30s', 'How long a withdrawal may wait for every gateway\'s acknowledgement (a new instance waits up to health.deadline for HAProxy\'s verdict); a missing acknowledgement fails the step.', 'no gateway could ever acknowledge in time'),
}

export const hostShape = {
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'expected a host name: lowercase letters, digits, "." and "-"').describe('Host name, shown in plans, status and keys\' records.'),
  docker: z
    .string()
    .regex(/^(unix:\/\/\/.+|tcp:\/\/[^:/\s]+:\d{1,5}\/?|ssh:\/\/[^@/:\s]+@[^:/\s]+(:\d{1,5})?\/?)$/, 'expected unix:///path, tcp://host:port or ssh://user@host[:port]')
    .describe('The Docker engine: unix:///var/run/docker.sock, tcp://host:2376 (mutual TLS, certificates as the docker CLI reads them), or ssh://user@host[:port] (key auth, known_hosts checked).'),
  address: z.ipv4({ error: 'expected the IPv4 address the load balancer reaches this host on' }).describe('The address instances on this host are announced at and probed on; published ports bind to it.'),
  labels: z.record(z.string(), z.string()).default({}).describe('Host labels, for placement.labels.'),
  tls: z
    .strictObject({
      certPath: z.string().optional().describe('Directory with ca.pem, cert.pem, key.pem. Default: $DOCKER_CERT_PATH, else ~/.docker.'),
      verify: z.boolean().default(true).describe('false: plain TCP without TLS (only on a trusted network).'),
    })
    .optional()
    .describe('tcp:// endpoints: mutual TLS.'),
  ssh: z
    .strictObject({
      identityFile: z.string().optional().describe('Private key. Default: ~/.ssh/id_ed25519, id_ecdsa or id_rsa, else $SSH_AUTH_SOCK.'),
      knownHosts: z.string().optional().describe('known_hosts file the host key must be in. Default: ~/.ssh/known_hosts.'),
    })
    .optional()
    .describe('ssh:// endpoints.'),
}

const portMessage = (input: unknown): string =>
  typeof input === 'string' && /^\d+$/.test(input.trim())
    ? `expected a number, got the string "${input}": write ${input.trim()} without quotes`
    : 'expected a port number 1..65535'

export const releaseShape = {
  command: z
    .array(z.string(), { error: 'expected a list of strings, e.g. ["bin/migrate", "--yes"] (a list, so nothing is split by a shell)' })
    .min(1, 'expected at least the program to run, e.g. ["bin/migrate"]')
    .describe('The program and its arguments, run in one container of the new image with the app\'s env and secrets.'),
  timeout: duration('10m', 'Longer than this: the container is stopped and the deploy ends (exit 20), nothing else changed.', 'every release command would time out at once'),
}

const hookCommand = (when: string) =>
  z
    .array(z.string(), { error: 'expected a list of strings, e.g. ["./scripts/notify.sh", "--channel", "deploys"] (a list, so nothing is split by a shell)' })
    .min(1, 'expected at least the program to run')
    .optional()
    .describe(`A local command (run on the machine running forrest, from this file's folder) ${when}. Its environment has FORREST_APP, FORREST_HOOK, FORREST_IMAGE (as written), FORREST_IMAGE_ID, FORREST_DIGEST (registry images), FORREST_REVISION, FORREST_FROM_REVISION, FORREST_OUTCOME, FORREST_EXIT_CODE, FORREST_RESULT (a JSON file) and FORREST_ACTOR.`)

export const hooksShape = {
  preDeploy: hookCommand('before a deploy changes anything; a non-zero exit stops the deploy (exit 21), nothing changed'),
  postDeploy: hookCommand('after a deploy succeeded (or found nothing to do); a non-zero exit is a warning, the deploy stands'),
  onFailure: hookCommand('after a deploy failed (rolled back, failed, release command failed, interrupted)'),
  timeout: duration('5m', 'How long each hook may run; longer counts as a failure.', 'every hook would time out at once'),
}

/** A process's health: with a port as the app's (http by default); a worker's from Docker's HEALTHCHECK or "running for N". */
export const processHealthShape = {
  ...healthShape,
  type: z.enum(['http', 'docker', 'none']).optional().describe('With a port: http (default), docker or none. Without a port (a worker, never probed over the network): docker (the image HEALTHCHECK) or none (default: healthy once it has run for `running` without a restart).'),
  running: duration('5s', 'Worker (type none): healthy once the container has run this long without exiting or being restarted.'),
  command: z
    .array(z.string(), { error: 'expected a list of strings, e.g. ["bin/worker-health"] (a list, so nothing is split by a shell)' })
    .min(1, 'expected at least the program to run')
    .optional()
    .describe('Worker: a command run inside the container at every interval until `successes` runs in a row exit 0 (like Compose\'s healthcheck test); each run may take up to `timeout`.'),
}

/** One process of the app (web or a worker): its own command, replicas, strategy and stop behaviour; image, env and revision are the app's. */
export const processShape = {
  command: z.array(z.string(), { error: 'expected a list of strings, e.g. ["bin/worker", "--queue", "default"]' }).optional().describe("The process's command (overrides the image CMD)."),
  replicas: z.int('expected a whole number >= 0').min(0, 'expected a whole number >= 0').default(1).describe('Number of instances of this process. Default 1.'),
  port: z
    .int({ error: (iss) => portMessage(iss.input) })
    .min(1, 'expected a port number 1..65535')
    .max(65535, 'expected a port number 1..65535')
    .optional()
    .describe('web only: the container port announced in etcd and probed (default: the image\'s single EXPOSEd port). A process without a port is a worker: never announced, never behind the load balancer.'),
  health: z.strictObject(processHealthShape).prefault({}).describe('How a new instance of the process is judged ready. A worker has no health path: it is never probed over HTTP.'),
  update: z.strictObject(updateShape).optional().describe("This process's rolling update strategy (replaces the app's update for it). Default: the app's update."),
  placement: z
    .strictObject({ labels: z.record(z.string(), z.string()).default({}).describe('Only hosts carrying all these labels run the process.') })
    .optional()
    .describe("Which of the hosts run this process. Default: the app's placement."),
  stopSignal: z.string().regex(/^(SIG[A-Z0-9+-]+|[0-9]{1,2})$/, 'expected a signal like SIGTERM, SIGQUIT, SIGINT or a number').optional().describe("Signal that stops the process's containers (container.stopSignal for this process). Default: the app's."),
  stopGracePeriod: z
    .string({ error: (iss) => durationMistake(iss.input) })
    .regex(new RegExp(DURATION_PATTERN), { error: (iss) => durationMistake(iss.input) })
    .refine((text) => (parseDuration(text) ?? 0) <= MAX_DURATION_MS, { error: (iss) => `must be at most ${MAX_DURATION}, got ${String(iss.input)}` })
    .transform((text) => parseDuration(text) as number)
    .optional()
    .describe('Time between the stop signal and SIGKILL for this process (a worker finishing a job needs minutes). Default: the app\'s update.stopGracePeriod.'),
  container: containerSettingsSchema.optional().describe("Container settings of this process, merged over the app's container block (a key here wins)."),
}

export const rootShape = {
  name: z
    .string()
    .regex(new RegExp(NAME_PATTERN), 'expected lowercase letters, digits and "-", starting with a letter or digit, at most 41 characters')
    .describe('App name; used in container names and etcd keys.'),
  image: z
    .string()
    .superRefine((ref, ctx) => {
      const problem = imageReferenceProblem(ref)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    })
    // The checks above, as far as JSON Schema can say them.
    .meta({ pattern: IMAGE_REFERENCE_PATTERN, maxLength: IMAGE_REFERENCE_MAX })
    .describe('Docker image reference: [registry[:port]/]repository[:tag][@digest], e.g. demo/myapp:1.'),
  pull: z
    .enum(['missing', 'always', 'never'], { error: 'expected missing, always or never' })
    .default('missing')
    .describe('When hosts pull the image. missing (default): resolve the tag to a digest at the registry once, and pull that digest where a host lacks it (an image built or loaded on the host, whose name names no registry, is used as it is); always: pull the digest every time; never: never pull or ask a registry, every host must have the image.'),
  replicas: z.int().min(0).default(1).describe('Number of instances. Default 1.'),
  port: z
    .int({ error: (iss) => portMessage(iss.input) })
    .min(1, 'expected a port number 1..65535')
    .max(65535, 'expected a port number 1..65535')
    .optional()
    .describe("Container port to announce and probe. Default: the image's single EXPOSEd port."),
  command: z
    .array(z.string(), { error: 'expected a list of strings, e.g. ["/bin/httpd", "-f"]' })
    .optional()
    .describe('Overrides the image CMD.'),
  env: z
    .record(
      z.string().regex(new RegExp(ENV_NAME_PATTERN), { error: (iss) => envNameMessage(iss.input) }),
      z.union([secretRef, scalar('value')], {
        error: 'expected a string, number or boolean value, or a secret: {fromEnv: NAME} or {fromFile: PATH} (quote it if it is meant to be text)',
      }),
    )
    .default({})
    .describe('Environment variables; numbers and booleans are stringified (quote values YAML would read differently, like "0022"). A secret is written {fromEnv: NAME} (from the deploy job\'s environment) or {fromFile: PATH}: its value is never stored or printed.'),
  envFile: z
    .string()
    .min(1, 'expected a path to a KEY=VALUE file')
    .optional()
    .describe('A KEY=VALUE file (relative to this file) whose variables are all secrets: passed to the containers, never stored or printed. Like Compose\'s env_file.'),
  labels: z
    .record(
      z.string().refine((key) => !key.startsWith(RESERVED_LABEL_PREFIX), 'labels starting with "forrest." are reserved for forrest itself; pick another prefix'),
      scalar('label value'),
    )
    .default({})
    .describe('Extra Docker labels. Keys starting with "forrest." are reserved.'),
  announce: z.strictObject(announceShape).default({}).describe('Where instances are registered in etcd.'),
  release: z
    .strictObject(releaseShape)
    .optional()
    .describe('A command run once per new revision (migrations), in one container of the new image with the app\'s env and secrets, on a host of the app, before any instance of the new revision starts and while the old revision still serves. A non-zero exit or the timeout ends the deploy with exit 20, nothing else changed. Not run by scale or rollback. Like Dokku\'s Procfile release and Heroku\'s release phase.'),
  health: z
    .strictObject(healthShape)
    .superRefine((health, ctx) => {
      if (health.type === 'http') return
      for (const key of ['path', 'status'] as const) {
        if (health[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `only used when health.type is http (it is ${health.type}); remove it` })
      }
    })
    .transform((health) => ({ ...health, path: health.path ?? '/', status: health.status ?? 200 }))
    .prefault({})
    .describe('How a new instance is judged ready.'),
  update: z.strictObject(updateShape).prefault({}).describe('Rolling update strategy.'),
  hooks: z.strictObject(hooksShape).optional().describe('Local commands `forrest deploy` runs at named points: notifications, "is CI green?" gates. Like Kamal\'s hooks, with the outcome in their environment.'),
  gateways: z.strictObject(gatewaysShape).prefault({}).describe('The load balancer gateways (`forrest gateway`) a rollout relies on.'),
  hostPorts: z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, 'expected a port range like "20000-29999"')
    .transform((text) => {
      const [from, to] = text.split('-').map(Number) as [number, number]
      return { from, to }
    })
    .refine((r) => r.from >= 1024 && r.to <= 65535 && r.from <= r.to, 'expected a range within 1024-65535, low to high')
    .prefault('20000-29999')
    .describe('Host ports instances are published on, fixed per instance so a restarted container keeps its registered address (Docker would pick a new one). Keep it clear of other services and of the ephemeral range (32768-60999). Default 20000-29999.'),
  hosts: z
    .array(z.strictObject(hostShape), { error: 'expected a list of hosts, each with name, docker and address' })
    .min(1, 'list at least one host, or leave hosts out for the local Docker engine')
    .optional()
    .describe('The Docker hosts the app runs on; replicas spread evenly across them. Default: the local engine ($DOCKER_HOST) at the announce address.'),
  placement: z
    .strictObject({ labels: z.record(z.string(), z.string()).default({}).describe('Only hosts carrying all these labels run the app.') })
    .optional()
    .describe('Which of the hosts run the app.'),
  dependsOn: z
    .array(z.string().regex(new RegExp(NAME_PATTERN), 'expected an app name (lowercase letters, digits and "-")'), { error: 'expected a list of app names, e.g. [db-migrator]' })
    .optional()
    .describe('Apps (by name) that `forrest deploy DIR` (or several files) deploys before this one, as Compose\'s depends_on; each must have a file among those given. Not part of the revision.'),
  container: containerSettingsSchema.optional().describe('How each container runs: networks, volumes, resources, hardening, logging, stop signal and more (README › Container settings). Part of the revision: a change rolls out like any other.'),
  processes: z
    .record(z.string().regex(new RegExp(PROCESS_NAME_PATTERN), { error: (iss) => processNameMessage(iss.input) }), z.strictObject(processShape))
    .optional()
    .describe('Several processes from the one image and revision, keyed by name (like Compose services, Kamal roles): `web` (with a port: announced behind the load balancer) and workers (no port: never announced). With processes, replicas, port, command and health go under each process. Without: the file is one process, web.'),
}

/** Keys allowed at each object path, for "did you mean" hints on unknown keys. */
export const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(rootShape),
  announce: Object.keys(announceShape),
  release: Object.keys(releaseShape),
  hooks: Object.keys(hooksShape),
  health: Object.keys(healthShape),
  update: Object.keys(updateShape),
  'update.canary': Object.keys(canaryShape),
  'update.blueGreen': ['pause'],
  gateways: Object.keys(gatewaysShape),
  placement: ['labels'],
  ...CONTAINER_KNOWN_KEYS,
  // Under processes.<name> (issues.ts looks a process's keys up as "process...").
  process: Object.keys(processShape),
  'process.health': Object.keys(processHealthShape),
  'process.update': Object.keys(updateShape),
  'process.update.canary': Object.keys(canaryShape),
  'process.placement': ['labels'],
  ...Object.fromEntries(Object.entries(CONTAINER_KNOWN_KEYS).map(([k, v]) => [`process.${k}`, v])),
}

export { resolveCount } from './count.js'

export const deploymentSchema = z
  .strictObject(rootShape)
  .superRefine((spec, ctx) => {
    checkHosts(spec, ctx)
    checkStrategies(spec, ctx)
    if (spec.processes) checkProcesses(spec.name, spec.processes, spec.update, ctx, spec.hosts?.map((h) => h.labels))
    else checkBounds(spec.replicas, spec.update, ['update', 'maxSurge'], ctx)
  })
  .transform(liftProcesses)

/** blue-green switches web's traffic at once: no canary with it, and no workers beside it (a switch back could not restore them without starting anything). */
function checkStrategies(spec: z.output<z.ZodObject<typeof rootShape>>, ctx: z.core.$RefinementCtx): void {
  const processes = Object.entries(spec.processes ?? {}) as Array<[string, { update?: { strategy?: string; canary?: unknown } }]>
  const updates: Array<[PropertyKey[], { strategy?: string; canary?: unknown }]> = [[['update'], spec.update], ...processes.filter(([, p]) => p.update).map(([n, p]): [PropertyKey[], { strategy?: string; canary?: unknown }] => [['processes', n, 'update'], p.update!])]
  const workers = processes.map(([n]) => n).filter((n) => n !== 'web')
  for (const [path, u] of updates) {
    if (u.strategy !== 'blue-green') continue
    if (u.canary) ctx.addIssue({ code: 'custom', path: [...path, 'canary'], message: 'blue-green switches all traffic at once; a canary needs strategy rolling: remove update.canary or set update.strategy: rolling' })
    if (workers.length > 0) {
      ctx.addIssue({ code: 'custom', path: [...path, 'strategy'], message: `blue-green switches the web process's traffic in one step, and ${spec.name}'s workers (${workers.join(', ')}) serve none: a switch back could not restore them without starting anything. Use strategy: rolling (update.canary.traffic gives a share of traffic), or deploy the workers as an app of their own` })
    }
  }
}

function checkHosts(spec: z.output<z.ZodObject<typeof rootShape>>, ctx: z.core.$RefinementCtx): void {
  if (!spec.hosts) {
    if (spec.placement) ctx.addIssue({ code: 'custom', path: ['placement'], message: 'placement needs a hosts list to choose from' })
    return
  }
  const seen = new Map<string, number>()
  spec.hosts.forEach((h, i) => {
    for (const [field, value] of [['name', h.name], ['docker', h.docker]] as const) {
      const first = seen.get(`${field}:${value}`)
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['hosts', i, field], message: `the same ${field} as hosts[${first}]; each host once` })
      else seen.set(`${field}:${value}`, i)
    }
  })
  if (spec.announce.address) ctx.addIssue({ code: 'custom', path: ['announce', 'address'], message: 'with hosts, each host has its own address (hosts[].address); remove announce.address' })
  const wanted = Object.entries(spec.placement?.labels ?? {})
  if (wanted.length && !spec.hosts.some((h) => wanted.every(([k, v]) => h.labels[k] === v))) {
    ctx.addIssue({ code: 'custom', path: ['placement', 'labels'], message: 'no host carries all these labels, so nothing could run' })
  }
}

export type DeploymentSpecInput = z.input<typeof deploymentSchema>
export type DeploymentSpecOutput = z.output<typeof deploymentSchema>
