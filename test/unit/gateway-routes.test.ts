import { describe, expect, it } from 'vitest'
import { ForrestError } from '../../src/errors.js'
import { renderStarterConfig } from '../../src/gateway/haproxy-config.js'
import { parseRoutes } from '../../src/gateway/routes.js'

const refused = (values: string[]): string => {
  try {
    parseRoutes(values, 'forrest')
  } catch (err) {
    expect(err).toBeInstanceOf(ForrestError)
    expect((err as ForrestError).exit).toBe(2)
    return (err as ForrestError).message
  }
  throw new Error('expected a refusal')
}

describe('gateway --route PREFIX=BACKEND', () => {
  it('parses each pair, normalizing the prefix', () => {
    expect(parseRoutes(['/apps/web/servers/=web', 'apps/api/servers=api'], 'forrest')).toEqual([
      { prefix: 'apps/web/servers', backend: 'web' },
      { prefix: 'apps/api/servers', backend: 'api' },
    ])
  })

  it('refuses every bad pair at once: no "=", an empty side, a bad backend name, the records root, a prefix or backend twice', () => {
    const message = refused(['nothing', '=web', 'apps/x=', 'apps/y=bad name', 'forrest/apps=rec', 'apps/a=a', 'apps/a=b', 'apps/c=a'])
    expect(message).toContain('--route "nothing": expected PREFIX=BACKEND')
    expect(message).toContain('--route "=web": expected PREFIX=BACKEND')
    expect(message).toContain('--route "apps/x=": expected PREFIX=BACKEND')
    expect(message).toContain('backend "bad name" is not an HAProxy backend name')
    expect(message).toContain(`overlaps forrest's records root`)
    expect(message).toContain('prefix apps/a is already routed to backend a; one backend per prefix')
    expect(message).toContain('backend a already serves prefix apps/a; one prefix per backend')
    expect(message).toMatch(/nothing was started/)
  })
})

describe('starter config with routes', () => {
  it('one backend per route, each with its marker block, chosen by Host; the 404 spares every routed host', () => {
    const text = renderStarterConfig({ routes: [{ prefix: 'apps/web/servers', backend: 'web' }, { prefix: 'apps/api/servers', backend: 'api' }] })
    for (const b of ['web', 'api']) {
      expect(text).toContain(`\nbackend ${b}\n`)
      expect(text).toContain(`  use_backend ${b} if { var(txn.host) -m beg ${b}. }`)
    }
    expect(text.match(/# forrest:servers:begin/g)).toHaveLength(2)
    expect(text).toContain('if !{ var(txn.host) -m beg web. api. }')
    expect(text).not.toContain('default_backend')
    expect(text).toContain('--route apps/web/servers=web --route apps/api/servers=api')
  })

  it('without routes, the single backend as before', () => {
    const text = renderStarterConfig({ backend: 'app' })
    expect(text).toContain('  default_backend app\n')
    expect(text.match(/\nbackend /g)).toHaveLength(1)
    expect(text).not.toContain('use_backend')
  })
})
