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
export function renderServerLines(servers: ReadonlyMap<string, string>, params: string, weight: number): string[] {
  return [...servers].sort(([a], [b]) => a.localeCompare(b)).map(([name, address]) => `  server ${name} ${address} ${params} weight ${weight}`)
}

/** Replaces what is between the markers; undefined when the markers are missing or out of order. */
export function replaceServersBlock(text: string, lines: string[]): string | undefined {
  const all = text.split('\n')
  const begin = all.findIndex((l) => l.trim().startsWith(SERVERS_BEGIN.split(' (')[0]))
  const end = all.findIndex((l, i) => i > begin && l.trim() === SERVERS_END)
  if (begin < 0 || end < 0) return undefined
  const indent = all[begin].match(/^\s*/)?.[0] ?? ''
  return [...all.slice(0, begin + 1), ...lines.map((l) => indent + l.trimStart()), ...all.slice(end)].join('\n')
}

function missingMarkers(file: string): ForrestError {
  return new ForrestError('BAD_INPUT', `${file} has no "${SERVERS_BEGIN.split(' (')[0]}" ... "${SERVERS_END}" block`, {
    suggestion: `Put the two marker lines inside the backend the gateway owns (forrest gateway --init-config writes them).`,
  })
}

/** Fails fast (BAD_INPUT) when the file cannot be read or has no marker block. */
export async function checkServersFile(file: string): Promise<void> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new ForrestError('BAD_INPUT', `cannot read --servers-file ${file}: ${err.message}`)
  })
  if (replaceServersBlock(text, []) === undefined) throw missingMarkers(file)
}

/** Writes the block if it changed: temp file + rename, so HAProxy never reads half a file. */
export async function writeServersFile(file: string, lines: string[]): Promise<boolean> {
  const text = await readFile(file, 'utf8')
  const next = replaceServersBlock(text, lines)
  if (next === undefined) throw missingMarkers(file)
  if (next === text) return false
  const tmp = `${file}.forrest-tmp`
  await writeFile(tmp, next, { mode: (await stat(file)).mode & 0o777 })
  await rename(tmp, file)
  return true
}

/** The server names in the file's marker block: servers an earlier gateway wrote, so it may manage them. */
export async function serverNamesInFile(file: string): Promise<string[]> {
  const all = (await readFile(file, 'utf8')).split('\n')
  const begin = all.findIndex((l) => l.trim().startsWith(SERVERS_BEGIN.split(' (')[0]))
  const end = all.findIndex((l, i) => i > begin && l.trim() === SERVERS_END)
  if (begin < 0 || end < 0) return []
  return all.slice(begin + 1, end).flatMap((l) => /^\s*server\s+(\S+)/.exec(l)?.[1] ?? [])
}
