import { describe, expect, it } from 'vitest'
import { chooseRenderer } from '../../src/report/renderer.js'

describe('chooseRenderer', () => {
  it.each([
    [{ isTTY: true, env: {} }, 'default'],
    [{ isTTY: true, env: { CI: 'true' } }, 'simple'],
    [{ isTTY: true, env: { CI: 'false' } }, 'default'],
    [{ isTTY: false, env: {} }, 'simple'],
    [{ isTTY: true, env: { TERM: 'dumb' } }, 'simple'],
    [{ isTTY: true, env: {}, json: true }, 'silent'],
    [{ isTTY: false, env: { CI: '1' }, quiet: true }, 'silent'],
  ])('%o → %s', (opts, expected) => {
    expect(chooseRenderer(opts)).toBe(expected)
  })
})
