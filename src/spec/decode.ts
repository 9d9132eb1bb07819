/**
 * From the bytes of a deployment file to YAML text, or what the file is instead. Decoding as
 * UTF-8 never fails on its own: UTF-16 becomes text full of NULs, Latin-1 "é" becomes U+FFFD
 * (which would reach the container), gzip becomes one long string; YAML then reports "expected a
 * mapping, got a string". So the bytes are looked at first, and the answer names the real problem.
 */
import { Buffer, isUtf8 } from 'node:buffer'

/**
 * One app per file needs a few KB. On hostile input (an error on every line, a long flow list)
 * the YAML parser manages well under 1 MB/s on a busy 2-core machine; at 128 KiB such a file is
 * still answered in a few hundred ms.
 */
export const MAX_SPEC_BYTES = 128 * 1024
const LIMIT = `${MAX_SPEC_BYTES / 1024} KiB`

/** A problem with the file as a whole, or at one place in its text (line and column 1-based). */
export interface FileProblem {
  line: number
  col: number
  message: string
}

const atStart = (message: string): FileProblem => ({ line: 1, col: 1, message })

const SAVE_AS_UTF8 = 'save it as UTF-8'
const SIGNATURES: ReadonlyArray<[bytes: readonly number[], what: string]> = [
  [[0x1f, 0x8b], 'this is a gzip-compressed file, not YAML text; decompress it first (gunzip)'],
  [[0x50, 0x4b, 0x03, 0x04], 'this is a zip archive, not YAML text; extract the deployment file from it'],
  // UTF-32 LE starts like UTF-16 LE, so it is checked first.
  [[0xff, 0xfe, 0x00, 0x00], `the file is UTF-32 text (it starts with a UTF-32 byte order mark); ${SAVE_AS_UTF8}`],
  [[0x00, 0x00, 0xfe, 0xff], `the file is UTF-32 text (it starts with a UTF-32 byte order mark); ${SAVE_AS_UTF8}`],
  [[0xff, 0xfe], `the file is UTF-16 text (it starts with a UTF-16 byte order mark); ${SAVE_AS_UTF8}`],
  [[0xfe, 0xff], `the file is UTF-16 text (it starts with a UTF-16 byte order mark); ${SAVE_AS_UTF8}`],
]

/** "the file is 4.8 MiB …"; without a size, the file was read only up to the limit. */
export function sizeProblem(size?: number): FileProblem {
  const actual = size === undefined ? `more than ${LIMIT}` : size < 1 << 20 ? `${(size / 1024).toFixed(1)} KiB` : `${(size / (1 << 20)).toFixed(1)} MiB`
  return atStart(`the file is ${actual}; a deployment file may be at most ${LIMIT} (one app needs a few KB)`)
}

/** The file's text (a UTF-8 byte order mark dropped), or why it is not UTF-8 text. */
export function decodeSpecBytes(bytes: Uint8Array): { text: string } | { problem: FileProblem } {
  if (bytes.length > MAX_SPEC_BYTES) return { problem: sizeProblem(bytes.length) }
  const what = identify(bytes)
  if (what) return { problem: atStart(what) }
  const bad = firstInvalidUtf8(bytes)
  if (bad !== undefined) return { problem: notUtf8(bytes, bad) }
  return { text: new TextDecoder().decode(bytes) }
}

/** What a file that is not UTF-8 text looks like, from its first bytes or a NUL byte. */
function identify(bytes: Uint8Array): string | undefined {
  const signature = SIGNATURES.find(([magic]) => magic.every((b, i) => bytes[i] === b))
  if (signature) return signature[1]
  const nul = bytes.indexOf(0)
  if (nul < 0) return undefined
  // ASCII as UTF-16 without a byte order mark: every other byte is 0.
  if (bytes.length >= 2 && (bytes[0] === 0) !== (bytes[1] === 0)) return `the file looks like UTF-16 text (NUL bytes between the letters); ${SAVE_AS_UTF8}`
  return `this is a binary file (a NUL byte at offset ${nul}), not YAML text`
}

function notUtf8(bytes: Uint8Array, offset: number): FileProblem {
  const lineStart = offset === 0 ? 0 : bytes.lastIndexOf(0x0a, offset - 1) + 1 // a negative index would count from the end
  let line = 1
  for (let i = 0; i < lineStart; i++) if (bytes[i] === 0x0a) line++
  const col = new TextDecoder().decode(bytes.subarray(lineStart, offset)).length + 1
  const byte = `0x${bytes[offset]!.toString(16).toUpperCase().padStart(2, '0')}`
  return { line, col, message: `the file is not UTF-8: byte ${byte} at offset ${offset} (Latin-1 or Windows-1252?); save the file as UTF-8` }
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629), if any. */
function firstInvalidUtf8(bytes: Uint8Array): number | undefined {
  if (isUtf8(bytes)) return undefined
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceLength(bytes, i)
    if (length === 0) return i
    i += length
  }
  return undefined
}

/** Length of the UTF-8 sequence at i, 0 when it is malformed (overlong, surrogate, > U+10FFFF, cut short). */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const lead = bytes[i]!
  if (lead < 0x80) return 1
  // Per lead byte: the sequence length and the range of the second byte (RFC 3629, section 4).
  const [length, min, max] =
    lead < 0xc2 ? [0, 0, 0]
    : lead < 0xe0 ? [2, 0x80, 0xbf]
    : lead === 0xe0 ? [3, 0xa0, 0xbf]
    : lead === 0xed ? [3, 0x80, 0x9f]
    : lead < 0xf0 ? [3, 0x80, 0xbf]
    : lead === 0xf0 ? [4, 0x90, 0xbf]
    : lead < 0xf4 ? [4, 0x80, 0xbf]
    : lead === 0xf4 ? [4, 0x80, 0x8f]
    : [0, 0, 0]
  const second = bytes[i + 1] ?? -1
  if (length === 0 || second < min || second > max) return 0
  for (let k = 2; k < length; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return 0
  return length
}

// C0 controls other than tab, LF and CR; DEL; C1 controls other than NEL. YAML does not allow them
// raw (an escape in double quotes, "\e", is how to mean one), yet the parser lets them through.
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x84\x86-\x9f]/

/** What is wrong with the text before YAML reads it: its size, or a control character. */
export function checkSpecText(text: string): FileProblem | undefined {
  const bytes = Buffer.byteLength(text)
  return bytes > MAX_SPEC_BYTES ? sizeProblem(bytes) : controlCharacterProblem(text)
}

/** The first control character in the text, which YAML does not allow and a container would receive. */
function controlCharacterProblem(text: string): FileProblem | undefined {
  const match = CONTROL.exec(text)
  if (!match) return undefined
  const lineStart = text.lastIndexOf('\n', match.index - 1) + 1
  let line = 1
  for (let i = text.indexOf('\n'); i >= 0 && i < lineStart; i = text.indexOf('\n', i + 1)) line++
  const code = `U+${match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`
  return { line, col: match.index - lineStart + 1, message: `the control character ${code} is not allowed in YAML; remove it, or write it as an escape in double quotes ("\\e")` }
}
