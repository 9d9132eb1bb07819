/**
 * The `container:` settings of a deployment (networks, volumes, resources, hardening, logging,
 * process settings): one reusable zod object, so a later per-process block can take the same
 * shape and override it. Values are kept as written (memory "512m", not bytes) so `history` and
 * `diff` show what the user wrote; docker/create-options.ts turns them into Docker's options.
 * Nothing here names a Docker API field.
 */
import { z } from 'zod'
import { BYTES_HINT, parseBytes } from './bytes.js'

/** Linux capabilities (capabilities(7)), as Docker takes them (with or without CAP_), plus ALL. */
export const CAPABILITIES = [
  'AUDIT_CONTROL', 'AUDIT_READ', 'AUDIT_WRITE', 'BLOCK_SUSPEND', 'BPF', 'CHECKPOINT_RESTORE', 'CHOWN', 'DAC_OVERRIDE',
  'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'IPC_LOCK', 'IPC_OWNER', 'KILL', 'LEASE', 'LINUX_IMMUTABLE', 'MAC_ADMIN',
  'MAC_OVERRIDE', 'MKNOD', 'NET_ADMIN', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_RAW', 'PERFMON', 'SETFCAP', 'SETGID',
  'SETPCAP', 'SETUID', 'SYSLOG', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_CHROOT', 'SYS_MODULE', 'SYS_NICE', 'SYS_PACCT',
  'SYS_PTRACE', 'SYS_RAWIO', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'WAKE_ALARM', 'ALL',
] as const

/** setrlimit(2) resources Docker's --ulimit knows. */
export const ULIMITS = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'] as const

/** Docker's own rule for network (and volume) names; host/none/bridge are not user-defined networks. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/
const RESERVED_NETWORKS = new Set(['host', 'none', 'bridge', 'default'])
const SIGNAL = /^(SIG[A-Z0-9+-]+|[0-9]{1,2})$/

const networkName = z.string('expected a network name').superRefine((name, ctx) => {
  if (RESERVED_NETWORKS.has(name)) {
    ctx.addIssue({ code: 'custom', message: `"${name}" is not a user-defined network (published ports and names need one); create one with docker network create and name it here` })
  } else if (!NETWORK_NAME.test(name)) {
    ctx.addIssue({ code: 'custom', message: `Docker would refuse the network name ${JSON.stringify(name)}: use letters, digits, "_", "." and "-", starting with a letter or digit` })
  }
})

const hostnameLike = z.string().regex(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/, 'expected a host name: letters, digits, "-" and "."')

const network = z.union(
  [networkName, z.strictObject({ name: networkName, aliases: z.array(hostnameLike).default([]).describe('Extra names other containers on this network reach it by.') })],
  { error: 'expected a network name, or {name, aliases}' },
)

const bytes = (what: string) =>
  z
    .string({ error: (iss) => (typeof iss.input === 'number' ? `${what}: a number without a unit is ambiguous; ${BYTES_HINT}` : `${what}: ${BYTES_HINT}`) })
    .refine((text) => parseBytes(text) !== undefined, { error: (iss) => `${what}: ${JSON.stringify(iss.input)} is not a size; ${BYTES_HINT}` })

const absolutePath = (what: string) =>
  z.string(`expected an absolute ${what} path`).superRefine((p, ctx) => {
    if (!p.startsWith('/')) ctx.addIssue({ code: 'custom', message: `${what} path ${JSON.stringify(p)} is relative; write it absolute, starting with "/" (a deploy runs on other hosts, where relative has no meaning)` })
    else if (p.includes(':')) ctx.addIssue({ code: 'custom', message: `${what} path ${JSON.stringify(p)} contains ":"; Docker cannot mount it` })
  })

const mountLong = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('volume'),
      source: z.string().regex(VOLUME_NAME, 'expected a volume name: letters, digits, "_", "." and "-" (an absolute path is a bind mount: type bind)').describe('Named volume (created by Docker on first use, kept across rollouts).'),
      target: absolutePath('container'),
      readOnly: z.boolean().default(false),
    }),
    z.strictObject({
      type: z.literal('bind'),
      source: absolutePath('host'),
      target: absolutePath('container'),
      readOnly: z.boolean().default(false),
    }),
    z.strictObject({
      type: z.literal('tmpfs'),
      target: absolutePath('container'),
      size: bytes('size').optional().describe('Size cap, e.g. "64m". Default: half the host memory (Docker\'s).'),
    }),
  ],
  { error: 'expected type volume, bind or tmpfs' },
)

/** Compose's short syntax "SOURCE:TARGET[:ro|rw]": a source starting with "/" is a bind mount, else a named volume. */
function shortMountProblem(text: string): string | undefined {
  const parts = text.split(':')
  const [source, target, mode] = parts
  if (parts.length < 2 || parts.length > 3 || !source || !target || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    return `expected "SOURCE:TARGET" or "SOURCE:TARGET:ro" (a volume name or an absolute host path), got ${JSON.stringify(text)}`
  }
  if (source.startsWith('.') || source.startsWith('~')) return `bind path ${JSON.stringify(source)} is relative; write the absolute host path, starting with "/"`
  if (!target.startsWith('/')) return `container path ${JSON.stringify(target)} is relative; write it absolute, starting with "/"`
  if (!source.startsWith('/') && !VOLUME_NAME.test(source)) return `${JSON.stringify(source)} is neither a volume name nor an absolute host path`
  return undefined
}

const mountShort = z
  .string()
  .superRefine((text, ctx) => {
    const problem = shortMountProblem(text)
    if (problem) ctx.addIssue({ code: 'custom', message: problem, continue: true })
  })

const shortToLong = (text: string) => {
  const [source, target, mode] = text.split(':') as [string, string, string | undefined]
  return { type: source.startsWith('/') ? ('bind' as const) : ('volume' as const), source, target, readOnly: mode === 'ro' }
}

const capability = z.string('expected a capability name').transform((name, ctx) => {
  const bare = name.toUpperCase().replace(/^CAP_/, '')
  if (!(CAPABILITIES as readonly string[]).includes(bare)) {
    ctx.addIssue({ code: 'custom', message: `unknown capability ${JSON.stringify(name)}; expected one of capabilities(7) like NET_BIND_SERVICE, CHOWN, SYS_PTRACE, or ALL` })
    return z.NEVER
  }
  return bare
})

const limit = z.int('expected a whole number >= -1 (-1: unlimited)').min(-1, 'expected a whole number >= -1 (-1: unlimited)')
const ulimit = z.union([limit, z.strictObject({ soft: limit, hard: limit }).refine((u) => u.hard === -1 || (u.soft !== -1 && u.soft <= u.hard), 'soft must be at most hard')], {
  error: 'expected a number, or {soft, hard}',
})

export const resourcesShape = {
  memory: bytes('memory').optional().describe('Memory limit, e.g. "512m", "1g" (units b, k, m, g). A process allocating past it is OOM-killed. Compose: mem_limit.'),
  memoryReservation: bytes('memoryReservation').optional().describe('Soft memory limit the engine reclaims towards under pressure, e.g. "256m". Compose: mem_reservation.'),
  cpus: z.number('expected a number of CPUs such as 0.5 or 2').positive('expected a number of CPUs more than 0, such as 0.5 or 2').max(1024, 'expected at most 1024 CPUs').optional().describe('CPUs the container may use, e.g. 0.5. Compose: cpus.'),
  pids: z.int('expected a whole number of processes >= 1').min(1, 'expected a whole number of processes >= 1').optional().describe('Most processes and threads the container may run. Compose: pids_limit.'),
}

export const loggingShape = {
  driver: z.string().regex(/^[a-z0-9][a-z0-9_./:-]*$/, 'expected a logging driver name like json-file, local, journald, fluentd').describe('Docker logging driver. `forrest logs` can read json-file, local and journald (and others with dual logging).'),
  options: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
    .default({})
    .describe('Driver options, e.g. {max-size: 10m, max-file: 3}.'),
}

/** Default when `logging` is left out: a rotating json-file, so a chatty app cannot fill the disk. */
export const DEFAULT_LOGGING = { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } } as const

export const containerShape = {
  networks: z.array(network, { error: 'expected a list of network names' }).optional().describe('User-defined networks to join on every host (each must exist there: a deploy refuses before anything changes otherwise). Published ports keep working.'),
  volumes: z
    .array(z.union([mountShort, mountLong], { error: 'expected "SOURCE:TARGET[:ro]" or {type: volume|bind|tmpfs, ...}' }).transform((m) => (typeof m === 'string' ? shortToLong(m) : m)))
    .optional().describe('Named volumes, bind mounts (absolute host paths that must exist on every host) and tmpfs.'),
  resources: z.strictObject(resourcesShape).optional().describe('Memory, CPU and process limits.'),
  user: z.string().regex(/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/, 'expected USER, UID, USER:GROUP or UID:GID').optional().describe('User (and group) the process runs as, e.g. "1000:1000". Compose: user.'),
  readOnly: z.boolean().optional().describe('Mount the root filesystem read-only (write to volumes or tmpfs). Compose: read_only.'),
  capAdd: z.array(capability).optional().describe('Linux capabilities to add, e.g. [NET_BIND_SERVICE]. Compose: cap_add.'),
  capDrop: z.array(capability).optional().describe('Linux capabilities to drop, e.g. [ALL]. Compose: cap_drop.'),
  noNewPrivileges: z.boolean().optional().describe('The process cannot gain privileges (setuid binaries). Compose: security_opt [no-new-privileges:true].'),
  ulimits: z
    .partialRecord(z.enum(ULIMITS, { error: `expected a ulimit name: ${ULIMITS.join(', ')}` }), ulimit)
    .optional()
    .describe('Resource limits, e.g. {nofile: {soft: 1024, hard: 4096}, nproc: 512}. Compose: ulimits.'),
  logging: z.strictObject(loggingShape).optional().describe(`Logging driver and options. Default (when left out): ${DEFAULT_LOGGING.driver} with max-size ${DEFAULT_LOGGING.options['max-size']}, max-file ${DEFAULT_LOGGING.options['max-file']}.`),
  stopSignal: z.string().regex(SIGNAL, 'expected a signal like SIGTERM, SIGQUIT, SIGINT or a number').optional().describe('Signal sent to stop the container (rollouts, stop, scale down); update.stopGracePeriod later it is killed. Default: the image\'s STOPSIGNAL, else SIGTERM. Compose: stop_signal.'),
  entrypoint: z.array(z.string(), { error: 'expected a list of strings, e.g. ["/bin/sh", "-c"]' }).optional().describe('Overrides the image ENTRYPOINT ([] clears it). Compose: entrypoint.'),
  workingDir: z.string().regex(/^\//, 'expected an absolute path, e.g. /app').optional().describe('Working directory of the process. Compose: working_dir.'),
  extraHosts: z
    .record(hostnameLike, z.union([z.ipv4(), z.ipv6(), z.literal('host-gateway')], { error: 'expected an IP address or host-gateway' }))
    .optional()
    .describe('Extra /etc/hosts entries: {name: ip}. Compose: extra_hosts.'),
  init: z.boolean().optional().describe('Run an init process as PID 1 that forwards signals and reaps zombies. Default true.'),
  hostname: hostnameLike.optional().describe('Host name inside the container. Compose: hostname.'),
}

/** Reusable: the per-app `container:` block (and, later, a per-process override of it). */
export const containerSettingsSchema = z.strictObject(containerShape).superRefine((c, ctx) => {
  const seen = new Set<string>()
  ;(c.networks ?? []).forEach((n, i) => {
    const name = typeof n === 'string' ? n : n.name
    if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['networks', i], message: `network ${name} is listed twice` })
    seen.add(name)
  })
  const targets = new Set<string>()
  ;(c.volumes ?? []).forEach((v, i) => {
    if (targets.has(v.target)) ctx.addIssue({ code: 'custom', path: ['volumes', i], message: `two mounts at ${v.target}; each container path once` })
    targets.add(v.target)
  })
  const r = c.resources
  const limit = r?.memory ? parseBytes(r.memory) : undefined
  const reservation = r?.memoryReservation ? parseBytes(r.memoryReservation) : undefined
  if (limit !== undefined && limit < 6 * 1024 * 1024) ctx.addIssue({ code: 'custom', path: ['resources', 'memory'], message: 'Docker refuses a memory limit below 6m' })
  if (limit !== undefined && reservation !== undefined && reservation > limit) {
    ctx.addIssue({ code: 'custom', path: ['resources', 'memoryReservation'], message: `must be at most resources.memory (${r?.memory})` })
  }
})

export type ContainerSettingsInput = z.input<typeof containerSettingsSchema>
export type ContainerSettings = z.output<typeof containerSettingsSchema>
export type Mount = NonNullable<ContainerSettings['volumes']>[number]

/** Keys allowed at each object path under `container`, for "did you mean" hints. */
export const CONTAINER_KNOWN_KEYS: Record<string, readonly string[]> = {
  container: Object.keys(containerShape),
  'container.resources': Object.keys(resourcesShape),
  'container.logging': Object.keys(loggingShape),
}

/** Compose service keys and where they live here: an unknown key that is one gets pointed to its place. */
export const COMPOSE_KEYS: Record<string, string> = {
  networks: 'container.networks',
  volumes: 'container.volumes',
  tmpfs: 'container.volumes (type: tmpfs)',
  mem_limit: 'container.resources.memory',
  memory: 'container.resources.memory',
  mem_reservation: 'container.resources.memoryReservation',
  cpus: 'container.resources.cpus',
  pids_limit: 'container.resources.pids',
  user: 'container.user',
  read_only: 'container.readOnly',
  cap_add: 'container.capAdd',
  cap_drop: 'container.capDrop',
  security_opt: 'container.noNewPrivileges',
  ulimits: 'container.ulimits',
  logging: 'container.logging',
  stop_signal: 'container.stopSignal',
  stop_grace_period: 'update.stopGracePeriod',
  entrypoint: 'container.entrypoint',
  working_dir: 'container.workingDir',
  extra_hosts: 'container.extraHosts',
  init: 'container.init',
  hostname: 'container.hostname',
  environment: 'env',
  env_file: 'envFile',
}

/** "Compose's mem_limit is container.resources.memory here", for an unknown key at the root or under container. */
export function composeKeyHint(key: string, parentPath: string): string | undefined {
  if (parentPath !== '' && parentPath !== 'container') return undefined
  const place = COMPOSE_KEYS[key]
  if (!place || (parentPath === 'container' && !place.startsWith('container.'))) return undefined
  const relative = parentPath === 'container' ? place.replace(/^container\./, '') : place
  return `unknown key '${key}': Compose's ${key} is ${relative}${parentPath === 'container' ? ' under container' : ''} here (README › Container settings)`
}
