/**
 * Load and validate a deployment YAML. `loadSpecBytes` and `loadSpec` are pure (bytes or text in,
 * DeploymentSpec out); `loadSpecFile` is the only file I/O in src/spec. Every problem is reported
 * at once (problems.ts). Each step is linear in the size of the file and the size is bounded, so
 * even a hostile file is answered at once.
 */
import { open, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { LineCounter, parseDocument, type Document } from 'yaml'
import type { z } from 'zod'
import { ForrestError } from '../errors.js'
import { MAX_SPEC_BYTES, checkSpecText, decodeSpecBytes, sizeProblem } from './decode.js'
import { REQUIRED, errorMap, formatPath, unknownKeyMessage } from './issues.js'
import { locate } from './locate.js'
import { invalidSpec, rootProblem, withoutSamePlace, type SpecProblem } from './problems.js'
import { INVENTORY_FILE, INVENTORY_HOSTS, inventorySchema, mentionsInventory, pickFromInventory, type Inventory } from './inventory.js'
import { processInputProblems } from './processes.js'
import { deploymentSchema } from './schema.js'
import type { DeploymentSpec } from './types.js'
import { checkDocument } from './yaml-checks.js'

export type { SpecProblem } from './problems.js'

/** The parsed file, and what maps offsets in it back to lines. */
export interface Source {
  file: string
  doc: Document
  lineCounter: LineCounter
}

/** Warnings that yaml-checks reports with a path (unresolved tags), or the schema does (a tag on the wrong kind of node). */
const WARNINGS_REPORTED_ELSEWHERE = new Set(['TAG_RESOLVE_FAILED', 'BAD_COLLECTION_TYPE'])

export function loadSpecBytes(bytes: Uint8Array, file: string, inventory?: Inventory): DeploymentSpec {
  const decoded = decodeSpecBytes(bytes)
  if ('problem' in decoded) throw invalidSpec(file, [rootProblem(file, decoded.problem)])
  return loadSpec(decoded.text, file, inventory)
}

export function loadSpec(text: string, file: string, inventory?: Inventory): DeploymentSpec {
  return validateYaml(text, file, deploymentSchema, (data, source) => [...processProblems(data, source), ...withInventory(data, source, inventory)])
}

/**
 * Parse YAML text and validate it against a schema: every problem at once, as `file:line:col
 * path: reason`. `prepare` may rewrite the mapping first (an app's `hosts: inventory`) and report
 * problems of its own. Pure.
 */
export function validateYaml<S extends z.ZodType>(text: string, file: string, schema: S, prepare?: (data: Record<string, unknown>, source: Source) => SpecProblem[], what = 'deployment spec'): z.output<S> {
  const textProblem = checkSpecText(text)
  if (textProblem) throw invalidSpec(file, [rootProblem(file, textProblem)], what)
  const source = parse(text, file, what)
  const documentProblems = checkYaml(source, what)
  const data = toMapping(source, documentProblems, what)
  const prepared = prepare?.(data, source) ?? []
  const result = schema.safeParse(data, { error: errorMap })
  // Where the schema and the document checks both object to a value, the schema knows the field better.
  // What `prepare` found (a process's misplaced field, an inventory problem) names the field best of all.
  const problems = withoutSamePlace([...prepared, ...(result.success ? [] : result.error.issues.flatMap((issue) => toProblems(issue, source)))], documentProblems)
  if (!result.success || problems.length > 0) throw invalidSpec(file, problems, what)
  return result.data
}

/** Process fields in the wrong place (top-level replicas beside processes:, a worker's health path), located in the file. */
function processProblems(data: Record<string, unknown>, { file, doc, lineCounter }: Source): SpecProblem[] {
  return processInputProblems(data).map((p) => ({ file, ...locate(doc, lineCounter, p.path, 'key'), path: formatPath(p.path), message: p.message }))
}

/** `hosts: inventory` in an app's file: the inventory's hosts (validated already) take its place. */
function withInventory(data: Record<string, unknown>, { file, doc, lineCounter }: Source, inventory?: Inventory): SpecProblem[] {
  if (data.hosts !== INVENTORY_HOSTS) return []
  if (inventory) {
    data.hosts = structuredClone(pickFromInventory(inventory.hosts, data.placement))
    return []
  }
  delete data.hosts // reported here, not again by the schema as "expected a list"
  return [{ file, ...locate(doc, lineCounter, ['hosts']), path: 'hosts', message: `"inventory", but no inventory was found: put ${INVENTORY_FILE} beside this file, or name one with --inventory FILE or FORREST_INVENTORY` }]
}

export async function loadSpecFile(path: string, opts: { inventory?: string } = {}): Promise<DeploymentSpec> {
  const bytes = await readSpecBytes(path, 'deployment spec', 'Pass the path of a deployment YAML, e.g. deployments/myapp.yml.')
  if (bytes.length > MAX_SPEC_BYTES) throw invalidSpec(path, [rootProblem(path, sizeProblem(await sizeIfRegular(path)))])
  // Read only when the file asks for it: an app with its own hosts list never needs one.
  const inventory = mentionsInventory(bytes) ? await findInventory(path, opts.inventory) : undefined
  return loadSpecBytes(bytes, path, inventory)
}

/** The inventory file (--inventory, FORREST_INVENTORY, else forrest.hosts.yml beside the app's file), validated; absent when there is none at the default place. */
async function findInventory(specPath: string, named: string | undefined): Promise<Inventory | undefined> {
  const file = named ?? process.env.FORREST_INVENTORY ?? join(dirname(specPath), INVENTORY_FILE)
  const explicit = named !== undefined || process.env.FORREST_INVENTORY !== undefined
  if (!explicit && !(await stat(file).catch(() => undefined))) return undefined
  const bytes = await readSpecBytes(file, 'inventory', `Write the inventory as ${INVENTORY_FILE} (hosts: [...]) or point --inventory / FORREST_INVENTORY at it.`)
  if (bytes.length > MAX_SPEC_BYTES) throw invalidSpec(file, [rootProblem(file, sizeProblem(await sizeIfRegular(file)))], 'inventory')
  const decoded = decodeSpecBytes(bytes)
  if ('problem' in decoded) throw invalidSpec(file, [rootProblem(file, decoded.problem)], 'inventory')
  return { file, hosts: validateYaml(decoded.text, file, inventorySchema, undefined, 'inventory').hosts }
}

async function readSpecBytes(path: string, what: string, hint: string): Promise<Buffer> {
  let bytes: Buffer
  try {
    bytes = await readAtMost(path, MAX_SPEC_BYTES + 1)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied (the user running forrest may not read it)' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message
    throw new ForrestError('BAD_INPUT', `cannot read ${what} ${path}: ${why}; nothing was changed`, {
      cause: err,
      suggestion: code === 'EACCES' || code === 'EPERM' ? `Make ${path} readable by this user (chmod, chown), or run forrest as a user who may read it.` : hint,
    })
  }
  return bytes
}

/** The size of a regular file; a device or a pipe has none worth saying. */
async function sizeIfRegular(path: string): Promise<number | undefined> {
  const info = await stat(path).catch(() => undefined)
  return info?.isFile() ? info.size : undefined
}

/** The first `limit` bytes of a file: enough to refuse one that is too large (or a device that never ends) without reading it all. */
async function readAtMost(path: string, limit: number): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(limit)
    let length = 0
    for (let read = -1; read !== 0 && length < limit; length += read) {
      read = (await handle.read(buffer, length, limit - length, null)).bytesRead
    }
    return buffer.subarray(0, length)
  } finally {
    await handle.close()
  }
}

function parse(text: string, file: string, what: string): Source {
  const lineCounter = new LineCounter()
  try {
    // Duplicate keys are left to yaml-checks: yaml's own check compares each key with every other.
    const doc = withoutStackTraces(() => parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, logLevel: 'error' }))
    return { file, doc, lineCounter }
  } catch (err) {
    throw invalidSpec(file, [rootProblem(file, { line: 1, col: 1, message: `the YAML parser gave up: ${(err as Error).message}` })], what)
  }
}

/**
 * yaml builds an Error, stack trace included, for every problem it finds: a file of broken lines
 * has one per line, and the traces (which nobody reads) would take most of the time.
 */
function withoutStackTraces<T>(fn: () => T): T {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return fn()
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** What YAML and the document checks find; throws when the document cannot (or must not) be turned into data. */
function checkYaml({ file, doc, lineCounter }: Source, what: string): SpecProblem[] {
  const at = (offset: number) => ({ file, ...lineCounter.linePos(offset) })
  const warnings = doc.warnings.filter((w) => !WARNINGS_REPORTED_ELSEWHERE.has(w.code))
  const yamlProblems = [...doc.errors, ...warnings].map((err) => ({ ...at(err.pos[0]), path: '(root)', message: `YAML syntax: ${syntaxMessage(err.code, err.message)}` }))
  if (doc.errors.length > 0) throw invalidSpec(file, yamlProblems, what)
  const report = checkDocument(doc, (offset) => at(offset).line)
  const problems = [...yamlProblems, ...report.problems.map((p) => ({ ...at(p.offset), path: formatPath(p.path), message: p.message }))]
  if (!report.convertible) throw invalidSpec(file, problems, what)
  return problems
}

/** The document as data, which must be a mapping; yaml-checks bounded the aliases, maxAliasCount is a second guard. */
function toMapping({ file, doc, lineCounter }: Source, documentProblems: SpecProblem[], what: string): Record<string, unknown> {
  const refuse = (offset: number, message: string) => invalidSpec(file, [{ file, ...lineCounter.linePos(offset), path: '(root)', message }, ...documentProblems], what)
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    throw refuse(0, `the YAML could not be converted: ${(err as Error).message}`)
  }
  if (data === null || data === undefined) throw refuse(0, what === 'inventory' ? 'the file is empty; expected a mapping with a hosts list' : 'the file is empty; expected a mapping with at least name and image')
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw refuse(doc.contents?.range?.[0] ?? 0, `expected a mapping (${what === 'inventory' ? 'hosts: [...]' : 'name: ..., image: ...'}), got ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`)
  }
  return data as Record<string, unknown>
}

function toProblems(issue: z.core.$ZodIssue, { file, doc, lineCounter }: Source): SpecProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...issue.path, key]
      return { file, ...locate(doc, lineCounter, path, 'key'), path: formatPath(path), message: unknownKeyMessage(key, issue.path) }
    })
  }
  if (issue.code === 'invalid_key') {
    // A record key failed (e.g. a reserved "forrest." label): point at the key, use its own message.
    return [{ file, ...locate(doc, lineCounter, issue.path, 'key'), path: formatPath(issue.path), message: issue.issues[0]?.message ?? issue.message }]
  }
  const last = issue.path[issue.path.length - 1]
  const message = issue.message === REQUIRED ? `missing required key '${String(last)}'` : issue.message
  return [{ file, ...locate(doc, lineCounter, issue.path), path: formatPath(issue.path), message }]
}

function syntaxMessage(code: string, message: string): string {
  if (code === 'MULTIPLE_DOCS') return 'found more than one YAML document ("---"); put one app per file'
  if (code === 'RESOURCE_EXHAUSTION') return 'nested too deeply for the parser'
  if (message.startsWith('Nested mappings are not allowed')) return 'a value containing ": " or ending in ":" must be quoted (YAML reads it as a nested mapping)'
  // yaml's messages end with "at line L, column C" and a code frame when pretty; keep the first sentence.
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
}
