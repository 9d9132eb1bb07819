import { describe, expect, it } from 'vitest'
import { plainTable } from '../../src/report/plain-table.js'

// The expected text is what cli-table3 printed for the same rows (compact style, no colours),
// which forrest status and history used before: the output did not change with the formatter.
describe('plainTable', () => {
  it('pads every column to its widest cell; a cell with line breaks spans several lines', () => {
    const t = plainTable(['INSTANCE', 'REV', 'WHAT CHANGED'])
    t.push(['web-r2-1', 2, 'image web:1 → web:2\nreplicas 2 → 3'], ['web-r2-10', undefined, ''])
    expect(t.lines()).toEqual([
      '┌───────────┬─────┬─────────────────────┐',
      '│ INSTANCE  │ REV │ WHAT CHANGED        │',
      '├───────────┼─────┼─────────────────────┤',
      '│ web-r2-1  │ 2   │ image web:1 → web:2 │',
      '│           │     │ replicas 2 → 3      │',
      '│ web-r2-10 │     │                     │',
      '└───────────┴─────┴─────────────────────┘',
    ])
    expect(t.toString()).toBe(t.lines().join('\n'))
  })

  it('prints just the head when there are no rows', () => {
    expect(plainTable(['A']).toString()).toBe('┌───┐\n│ A │\n└───┘')
  })

  it('does not count control characters as columns', () => {
    const t = plainTable(['X'])
    t.push(['ab\r'])
    expect(t.lines()[3]).toBe('│ ab\r │')
  })
})
