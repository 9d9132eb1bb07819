/**
 * Plain text tables for human output: box borders, no colours, so CI logs and pipes read the same
 * as a terminal. Laid out in two passes, column widths then lines, so a table costs time in
 * proportion to its text. (cli-table3, used before, looks at earlier rows for every cell:
 * 25 s for the 15,000 rows of `forrest status` on a large fleet.) Same layout as cli-table3 with
 * `style: { compact: true }`: one space of padding, a rule under the head only, a cell with line
 * breaks spans several lines, top-aligned.
 */

export type TableCell = string | number | boolean | null | undefined

export class PlainTable {
  private readonly rows: TableCell[][] = []

  constructor(private readonly head: string[]) {}

  /** Add rows (the same call shape as cli-table3's, so callers need not change). */
  push(...rows: TableCell[][]): number {
    for (const row of rows) this.rows.push(row)
    return this.rows.length
  }

  lines(): string[] {
    const columns = this.rows.reduce((most, row) => Math.max(most, row.length), this.head.length) // no spread: 100k+ rows
    const split = (row: TableCell[]) => Array.from({ length: columns }, (_, c) => String(row[c] ?? '').split('\n'))
    const head = split(this.head)
    const body = this.rows.map(split)
    const widths = head.map((cell) => Math.max(...cell.map(displayWidth)))
    for (const row of body) {
      row.forEach((cell, c) => {
        for (const line of cell) widths[c] = Math.max(widths[c]!, displayWidth(line))
      })
    }
    const rule = (left: string, middle: string, right: string) => left + widths.map((w) => '─'.repeat(w + 2)).join(middle) + right
    const text = (row: string[][]): string[] => {
      const height = Math.max(...row.map((cell) => cell.length))
      return Array.from({ length: height }, (_, l) => `│ ${row.map((cell, c) => padEnd(cell[l] ?? '', widths[c]!)).join(' │ ')} │`)
    }
    return [rule('┌', '┬', '┐'), ...text(head), ...(body.length > 0 ? [rule('├', '┼', '┤')] : []), ...body.flatMap(text), rule('└', '┴', '┘')]
  }

  toString(): string {
    return this.lines().join('\n')
  }
}

export function plainTable(head: string[]): PlainTable {
  return new PlainTable(head)
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

/**
 * Columns a line takes on a terminal: control characters (a stray \r) take none, every other
 * code point one. Cells here are names, ids, addresses and forrest's own messages; East Asian
 * wide characters would count one column short, which only misaligns that row.
 */
function displayWidth(s: string): number {
  if (PRINTABLE_ASCII.test(s)) return s.length // nearly every cell: skip the walk over code points
  let width = 0
  for (const ch of s) {
    const code = ch.codePointAt(0)!
    if (code >= 0x20 && (code < 0x7f || code > 0x9f)) width++
  }
  return width
}

function padEnd(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)))
}
