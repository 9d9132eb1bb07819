import { describe, expect, it } from 'vitest'
import { ForrestError } from '../../src/errors.js'
import { lookupDockerConfig, readRegistryAuthFile } from '../../src/image/credentials.js'

const env = { FORREST_REGISTRY_AUTH_FILE: '/run/secrets/auths.json' }
const reading = (text: string) => async () => text

describe('FORREST_REGISTRY_AUTH_FILE', () => {
  it('unset: not consulted (the file is never read)', async () => {
    expect(await readRegistryAuthFile({}, () => Promise.reject(new Error('read')))).toBeUndefined()
  })

  it('its auths only, each entry found by the registry it is keyed by and by no other', async () => {
    const file = await readRegistryAuthFile(env, reading(JSON.stringify({ auths: { 'reg-a.example.com': { username: 'a', password: 'pa' }, 'https://reg-b.example.com:5000/v1/': { auth: Buffer.from('b:pb').toString('base64') } }, credsStore: 'desktop' })))
    expect(file!.config).toEqual({ auths: expect.any(Object) }) // a credsStore in it is not followed
    expect(lookupDockerConfig(file!.config, 'reg-a.example.com')).toEqual({ kind: 'password', username: 'a', password: 'pa' })
    expect(lookupDockerConfig(file!.config, 'reg-b.example.com:5000')).toEqual({ kind: 'password', username: 'b', password: 'pb' })
    expect(lookupDockerConfig(file!.config, 'reg-b.example.com')).toBeUndefined()
    expect(lookupDockerConfig(file!.config, 'evil.example.com')).toBeUndefined()
  })

  it.each([
    ['not JSON', 'auths: {}'],
    ['no auths', '{"auth": {}}'],
    ['auths not an object', '{"auths": []}'],
  ])('%s: bad input naming the file, never its content', async (_, text) => {
    const err = await readRegistryAuthFile(env, reading(text)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ForrestError)
    expect((err as ForrestError).exit).toBe(2)
    expect((err as ForrestError).message).toContain('FORREST_REGISTRY_AUTH_FILE /run/secrets/auths.json')
    expect((err as ForrestError).message).not.toContain(text)
  })

  it('unreadable: bad input with the reason', async () => {
    const err = (await readRegistryAuthFile(env, () => Promise.reject(Object.assign(new Error('nope'), { code: 'EACCES' }))).catch((e: unknown) => e)) as ForrestError
    expect(err.exit).toBe(2)
    expect(err.message).toContain('cannot be read: EACCES')
  })
})
