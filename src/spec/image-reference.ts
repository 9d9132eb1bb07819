/**
 * Image references as Docker parses them (distribution/reference, behind `docker run` and the
 * Engine API), so what Docker would refuse with "invalid reference format" is refused here,
 * before anything is touched, saying what is wrong:
 *
 *   reference      := name [":" tag] ["@" digest]
 *   name           := [host [":" port] "/"] path-component ["/" path-component]*
 *   host           := DNS-like name (any case; IPv4 included) | "[" IPv6 "]"
 *   path-component := [a-z0-9]+ (separator [a-z0-9]+)*     separator: "." | "_" | "__" | "-"+
 *   tag            := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest         := sha256:<64 hex> | sha384:<96 hex> | sha512:<128 hex>   (lowercase hex)
 *
 * The digest rule is go-digest's, which Docker applies after the grammar's looser form. A bare
 * 64-hex image ID matches the grammar and is kept: forrest inspects images locally, where Docker
 * accepts IDs.
 */

const alnum = '[a-z0-9]+'
const pathComponent = `${alnum}(?:(?:[._]|__|-+)${alnum})*`
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])`
const name = `(?:${host}(?::[0-9]+)?/)?${pathComponent}(?:/${pathComponent})*`
const TAG = '[\\w][\\w.-]{0,127}'
const DIGEST = '(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})'

export const IMAGE_REFERENCE_PATTERN = `^${name}(?::${TAG})?(?:@${DIGEST})?$`
const REFERENCE_RE = new RegExp(IMAGE_REFERENCE_PATTERN)
const TAG_RE = new RegExp(`^${TAG}$`)
const DIGEST_RE = new RegExp(`^${DIGEST}$`)

/** Docker's limit on the name (host and path). */
const NAME_MAX = 255
/** Name, ":" tag and "@sha512:" digest at their longest; checked first, so the grammar only ever sees short input. */
export const IMAGE_REFERENCE_MAX = NAME_MAX + 1 + 128 + 1 + 7 + 128

/** Why Docker would not accept `ref`, with a hint; undefined when it would. */
export function imageReferenceProblem(ref: string): string | undefined {
  if (ref.length > IMAGE_REFERENCE_MAX) return `invalid image reference: it is longer than ${IMAGE_REFERENCE_MAX} characters`
  if (!REFERENCE_RE.test(ref)) return `invalid image reference "${ref}": ${whatIsWrong(ref)}`
  if (split(ref).name.length > NAME_MAX) return `invalid image reference "${ref}": the name is longer than ${NAME_MAX} characters`
  return capitalHostProblem(ref)
}

/**
 * `UPPER/case` passes the grammar, but Docker reads a first component with capital letters as a
 * registry host (distribution/reference's splitDockerDomain) and would try to reach "UPPER": almost
 * always a repository written in the wrong case. A real host is named with "." or ":" (or is
 * localhost), which this leaves alone.
 */
function capitalHostProblem(ref: string): string | undefined {
  if (isImageId(ref)) return undefined
  const { domain, name, tag, digest } = split(ref)
  const slash = name.indexOf('/')
  if (domain !== undefined || slash <= 0) return undefined
  const first = name.slice(0, slash)
  if (first === first.toLowerCase()) return undefined
  return `invalid image reference "${ref}": "${first}" has capital letters, so Docker would read it as a registry host, not part of the repository. Repository names are lowercase: write ${join(undefined, name.toLowerCase(), tag, digest)}; for a registry, name its host with its domain or port (registry.example.com/${name.slice(slash + 1)})`
}

/** The likeliest mistake in a reference the grammar rejected, most specific first. */
function whatIsWrong(ref: string): string {
  if (ref === '') return 'it is empty'
  const variable = /\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/.exec(ref)
  if (variable) return `${variable[0]} is not expanded; forrest does not substitute variables: write the value, or generate the file (e.g. with envsubst)`
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(ref)
  if (scheme) return `drop "${scheme[0]}"; write ${ref.slice(scheme[0].length)}`
  if (/\s/.test(ref)) return 'it contains whitespace'
  if (ref.endsWith(':')) return `it ends with ":"; add a tag (${ref}1.27) or remove the colon`
  const { domain, path, tag, digest } = split(ref)
  if (digest !== undefined && !DIGEST_RE.test(digest)) return 'a digest is sha256: followed by 64 lowercase hex digits'
  if (path !== path.toLowerCase()) return `repository names are lowercase; write ${join(domain, path.toLowerCase(), tag, digest)}`
  if (tag !== undefined && !TAG_RE.test(tag)) return 'a tag is at most 128 letters, digits, "_", "." and "-", and does not start with "." or "-"'
  return 'path components are lowercase letters and digits separated by ".", "_", "__" or "-", as in registry.example.com/team/my-app:1'
}

interface Parts {
  /** Registry host[:port], when the first component looks like one ("." or ":" in it, or localhost). */
  domain?: string
  path: string
  /** Host and path, as Docker limits it. */
  name: string
  tag?: string
  digest?: string
}

/** Splits a reference the way Docker reads it, for the hints (it need not be valid). */
function split(ref: string): Parts {
  const at = ref.indexOf('@')
  const digest = at >= 0 ? ref.slice(at + 1) : undefined
  const rest = at >= 0 ? ref.slice(0, at) : ref
  const colon = rest.lastIndexOf(':')
  const hasTag = colon > rest.lastIndexOf('/')
  const name = hasTag ? rest.slice(0, colon) : rest
  const tag = hasTag ? rest.slice(colon + 1) : undefined
  const slash = name.indexOf('/')
  const first = name.slice(0, slash)
  const domain = slash > 0 && (/[.:]/.test(first) || first === 'localhost') ? first : undefined
  return { domain, path: domain === undefined ? name : name.slice(slash + 1), name, tag, digest }
}

function join(domain: string | undefined, path: string, tag: string | undefined, digest: string | undefined): string {
  return `${domain === undefined ? '' : `${domain}/`}${path}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`
}

/** Docker Hub as the engine names it; docker.io references are looked up there. */
export const DOCKER_HUB = 'docker.io'

/** A reference as Docker resolves it against a registry (distribution/reference's normalisation). */
export interface ImageReference {
  /** The name as written, without tag or digest: what is pulled, and what a digest is pinned to. */
  name: string
  /** The registry host[:port]: the first path component when it names one, else docker.io. */
  registry: string
  /** True when the reference names its registry (else it is Docker Hub by default). */
  namesRegistry: boolean
  /** The repository at that registry ("library/" added for Docker Hub's official images). */
  repository: string
  tag?: string
  digest?: string
}

const IMAGE_ID_RE = /^(?:sha256:)?[a-f0-9]{64}$/

/** A bare image ID (64 hex, or sha256:64 hex): local to one engine, never pulled. */
export const isImageId = (ref: string): boolean => IMAGE_ID_RE.test(ref)

/**
 * How Docker resolves a valid reference against a registry: the first component is a registry
 * when it contains "." or ":", is "localhost", or has upper case; otherwise the image is on
 * Docker Hub. Undefined for an image ID. Pure.
 */
export function parseImageReference(ref: string): ImageReference | undefined {
  if (isImageId(ref)) return undefined
  const { name, tag, digest } = split(ref)
  const slash = name.indexOf('/')
  const first = slash > 0 ? name.slice(0, slash) : ''
  const named = slash > 0 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase())
  let registry = named ? first : DOCKER_HUB
  if (registry === 'index.docker.io') registry = DOCKER_HUB
  const path = named ? name.slice(slash + 1) : name
  const repository = registry === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path
  return { name, registry, namesRegistry: named, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) }
}

/** `name@digest`: the same bytes on every engine, whatever the tag points at later. */
export const pinnedReference = (ref: ImageReference, digest: string): string => `${ref.name}@${digest}`

/** sha256: and the first 12 hex digits (as docker shows IDs): enough to tell digests apart. */
export const shortDigest = (digest: string): string => digest.replace(/^(sha256:[a-f0-9]{12})[a-f0-9]*$/, '$1')

/** `name@sha256:0123456789ab` for a pinned reference; anything else as it is. */
export const shortRef = (ref: string): string => ref.replace(/@(sha256:[a-f0-9]{12})[a-f0-9]+$/, '@$1')
