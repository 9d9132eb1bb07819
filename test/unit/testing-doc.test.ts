import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

/**
 * docs/testing.md maps each guarantee to the test that proves it: every test name it quotes
 * must exist, in one of the files its row names, or the map points at nothing.
 */
describe('docs/testing.md', () => {
  const doc = readFileSync('docs/testing.md', 'utf8')
  const map = doc.slice(doc.indexOf('## Guarantee → test'), doc.indexOf('## Which test to extend'))
  const rows = map.split('\n').filter((l) => l.startsWith('| ') && /\.test\.ts`/.test(l))

  it('names test files that exist and test names found in them', () => {
    expect(rows.length).toBeGreaterThan(20)
    let names = 0
    for (const row of rows) {
      const [, files = '', tests = ''] = row.split(' | ')
      const paths = [...files.matchAll(/`([^`]+\.test\.ts)`/g)].map(([, f]) => (f!.includes('/') ? f! : `test/integration/${f}`))
      expect(paths.length, row).toBeGreaterThan(0)
      for (const p of paths) expect(existsSync(p), p).toBe(true)
      const sources = paths.map((p) => readFileSync(p, 'utf8').replace(/\\'/g, "'"))
      // "quoted" names; … stands for words left out of a long one.
      for (const [, quoted] of tests.matchAll(/"([^"]+)"/g)) {
        const name = new RegExp(`^\\s*it\\('${quoted!.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^\\n]*')}`, 'm')
        expect(sources.some((src) => name.test(src)), `"${quoted}" in ${paths.join(', ')}`).toBe(true)
        names++
      }
    }
    expect(names).toBeGreaterThan(30)
  })
})
