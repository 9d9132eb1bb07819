import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { absoluteSecretPaths, fingerprint, resolveEnv, resolveRecordedEnv } from '../../src/engine/secrets.js'
import { loadSpec } from '../../src/spec/load.js'

const dir = mkdtempSync(join(tmpdir(), 'forrest-secrets-'))
writeFileSync(join(dir, 'db.pw'), 'file-secret-value\n')
writeFileSync(join(dir, 'prod.env'), 'API_TOKEN=tok-123456\n# comment\nQUOTED="a b c d"\n')
const spec = loadSpec('name: web\nimage: nginx:1\nenv:\n  PLAIN: hello\n  DB_PASSWORD: {fromEnv: DB_PW}\n  DB_FILE: {fromFile: db.pw}\nenvFile: prod.env\n', 'web.yml')

describe('secrets', () => {
  it('are references in the spec and values only once resolved, for the container', () => {
    expect(spec.env).toEqual({ PLAIN: 'hello', DB_PASSWORD: { fromEnv: 'DB_PW' }, DB_FILE: { fromFile: 'db.pw' } })
    const env = resolveEnv(absoluteSecretPaths(spec, dir), { DB_PW: 'env-secret-value' })
    expect(env.values).toEqual({ PLAIN: 'hello', DB_PASSWORD: 'env-secret-value', DB_FILE: 'file-secret-value', API_TOKEN: 'tok-123456', QUOTED: 'a b c d' })
    expect(Object.keys(env.fingerprints).sort()).toEqual(['API_TOKEN', 'DB_FILE', 'DB_PASSWORD', 'QUOTED'])
    expect(JSON.stringify(env.fingerprints)).not.toContain('secret-value')
  })

  it('fingerprints are stable, keyed, and change with the value', () => {
    expect(fingerprint('web', 'A', 'x')).toBe(fingerprint('web', 'A', 'x'))
    expect(fingerprint('web', 'A', 'x')).not.toBe(fingerprint('web', 'A', 'y'))
    expect(fingerprint('web', 'A', 'x', 'key1')).not.toBe(fingerprint('web', 'A', 'x', 'key2'))
    expect(fingerprint('web', 'A', 'x')).not.toBe(fingerprint('api', 'A', 'x'))
  })

  it('an unset variable or unreadable file is bad input naming the source, never a value', () => {
    expect(() => resolveEnv(absoluteSecretPaths(spec, dir), {})).toThrow(/env\.DB_PASSWORD of web comes from \$DB_PW, which is not set/)
    const missing = loadSpec('name: web\nimage: nginx:1\nenv:\n  K: {fromFile: nope.txt}\n', 'web.yml')
    expect(() => resolveEnv(absoluteSecretPaths(missing, dir), {})).toThrow(/cannot read the secret file of env\.K .*nope\.txt.*ENOENT/)
  })

  it('refuses a command line that carries a secret value', () => {
    const s = loadSpec('name: web\nimage: nginx:1\ncommand: ["/app", "--password=hunter22"]\nenv:\n  P: {fromEnv: P}\n', 'web.yml')
    expect(() => resolveEnv(s, { P: 'hunter22' })).toThrow(/command\[1\] of web contains the value of a secret/)
  })

  it('running a recorded revision again needs the same secret values (by fingerprint)', () => {
    const s = absoluteSecretPaths(spec, dir)
    const env = resolveEnv(s, { DB_PW: 'env-secret-value' })
    const rec = { revision: 3, spec: s, secretFingerprints: env.fingerprints }
    expect(resolveRecordedEnv(rec, { DB_PW: 'env-secret-value' }).values.DB_PASSWORD).toBe('env-secret-value')
    expect(() => resolveRecordedEnv(rec, { DB_PW: 'rotated' })).toThrow(/revision 3 of web ran with other values of env\.DB_PASSWORD/)
  })

  it('the schema takes {fromEnv}/{fromFile} and names a wrong one', () => {
    expect(() => loadSpec('name: web\nimage: nginx:1\nenv:\n  K: {fromVault: x}\n', 'web.yml')).toThrow(/env\.K/)
  })
})
