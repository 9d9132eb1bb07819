import { readFile, rename, stat, writeFile } from 'node:fs/promises'
import { ForrestError } from '../errors.js'

/**
 * Keeping reloads from dropping requests. Servers added through the Runtime API are not in
 * haproxy.cfg, so a reloaded HAProxy starts with an empty backend (HAProxy's docs expect them
 * to be "also manually inserted in the relevant haproxy configuration file"). With
 * `--servers-file`, the gateway keeps the live servers as plain `server` lines between two
 * marker comments inside the backend: the new worker starts with them (assumed UP until its
 * own first check) and the gateway then manages them like the ones it added.
 *
 * HAProxy 2.6 has no include and a section cannot continue in another -f file, hence markers in
 * the user's file; everything outside them is left byte for byte.
 */
export const SERVERS_BEGIN = '# forrest:servers:begin (written by forrest gateway --servers-file; edits here are lost)'
export const SERVERS_END = '# forrest:servers:end'

/** `server` lines for name → address, sorted so an unchanged set writes nothing. */
/** `weight`: every server's, or per server (its traffic weight as HAProxy has it), `fallback` for one not in the map. */
export function renderServerLines(servers: ReadonlyMap<string, string>, params: string, weight: number | ReadonlyMap<string, number>, fallback = 100): string[] {
  const of = (name: string) => (typeof weight === 'number' ? weight : (weight.get(name) ?? fallback))
  return [...servers].sort(([a], [b]) => a.localeCompare(b)).map(([name, address]) => `  server ${name} ${address} ${params} weight ${of(name)}`)
}

/** Section keywords of haproxy.cfg: a section runs from its keyword line to the next one. */
const SECTION = /^\s*(global|defaults|frontend|backend|listen|resolvers|peers|userlist|program|cache|http-errors|ring|mailers|crt-store|traces)(\s|$)/

/**
 * Where the marker block of `backend` is: the begin and end line indexes inside that backend's
 * section (`backend NAME` or `listen NAME`), or undefined when that section has no complete block.
 * Another backend's block is never this one's, so two gateways sharing one file each write only
 * their own.
 */
function findBlock(all: string[], backend: string): { begin: number; end: number } | undefined {
  const head = all.findIndex((l) => {
    const m = /^\s*(backend|listen)\s+(\S+)/.exec(l)
    return m !== null && m[2] === backend
  })
  if (head < 0) return undefined
  let stop = all.findIndex((l, i) => i > head && SECTION.test(l))
  if (stop < 0) stop = all.length
  const begin = all.findIndex((l, i) => i > head && i < stop && l.trim().startsWith(SERVERS_BEGIN.split(' (')[0]!))
  const end = all.findIndex((l, i) => i > begin && i < stop && l.trim() === SERVERS_END)
  return begin < 0 || end < 0 ? undefined : { begin, end }
}

/** Replaces what is between the markers in `backend`'s section; undefined when it has no (ordered) block. */
export function replaceServersBlock(text: string, lines: string[], backend = 'app'): string | undefined {
  const all = text.split('\n')
  const block = findBlock(all, backend)
  if (!block) return undefined
  const indent = all[block.begin]!.match(/^\s*/)?.[0] ?? ''
  return [...all.slice(0, block.begin + 1), ...lines.map((l) => indent + l.trimStart()), ...all.slice(block.end)].join('\n')
}

function missingMarkers(file: string, backend: string): ForrestError {
  return new ForrestError('BAD_INPUT', `${file} has no "${SERVERS_BEGIN.split(' (')[0]}" ... "${SERVERS_END}" block inside \`backend ${backend}\`: the gateway writes only its own backend's block`, {
    suggestion: `Put the two marker lines inside \`backend ${backend}\` of ${file} (forrest gateway --init-config --backend ${backend} writes them), or pass the --backend that file's block belongs to.`,
  })
}

/** Fails fast (BAD_INPUT) when the file cannot be read or has no marker block in `backend`. */
export async function checkServersFile(file: string, backend = 'app'): Promise<void> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new ForrestError('BAD_INPUT', `cannot read --servers-file ${file}: ${err.message}`)
  })
  if (replaceServersBlock(text, [], backend) === undefined) throw missingMarkers(file, backend)
}

/**
 * Writes in flight per file in this process: the routes of one gateway (multi-gateway.ts) may share
 * a servers file, and two read-modify-writes interleaved would put back a block from a stale read.
 */
const writing = new Map<string, Promise<unknown>>()

/** Writes `backend`'s block if it changed: temp file + rename, so HAProxy never reads half a file. */
export async function writeServersFile(file: string, lines: string[], backend = 'app'): Promise<boolean> {
  const before = writing.get(file) ?? Promise.resolve()
  const mine = before.catch(() => undefined).then(() => writeBlock(file, lines, backend))
  writing.set(file, mine)
  try {
    return await mine
  } finally {
    if (writing.get(file) === mine) writing.delete(file)
  }
}

async function writeBlock(file: string, lines: string[], backend: string): Promise<boolean> {
  const text = await readFile(file, 'utf8')
  const next = replaceServersBlock(text, lines, backend)
  if (next === undefined) throw missingMarkers(file, backend)
  if (next === text) return false
  const tmp = `${file}.forrest-tmp-${backend}`
  await writeFile(tmp, next, { mode: (await stat(file)).mode & 0o777 })
  await rename(tmp, file)
  return true
}

/** The server names in `backend`'s marker block: servers an earlier gateway wrote, so it may manage them. */
export async function serverNamesInFile(file: string, backend = 'app'): Promise<string[]> {
  const all = (await readFile(file, 'utf8')).split('\n')
  const block = findBlock(all, backend)
  if (!block) return []
  return all.slice(block.begin + 1, block.end).flatMap((l) => /^\s*server\s+(\S+)/.exec(l)?.[1] ?? [])
}
