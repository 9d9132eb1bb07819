import { describe, expect, it } from 'vitest'
import { hookEnvironment } from '../../src/verbs/deploy-hooks.js'
import { OWN_CREDENTIAL_VARIABLES } from '../../src/spec/own-credentials.js'

describe('a deploy hook\'s environment', () => {
  const job = Object.fromEntries([...OWN_CREDENTIAL_VARIABLES.map((k) => [k, `secret-${k}`]), ['PATH', '/usr/bin'], ['CI_JOB_ID', '42'], ['FORREST_APP', 'stale']])
  const env = hookEnvironment(job, { FORREST_APP: 'web', FORREST_HOOK: 'pre-deploy' })

  it('has none of forrest\'s own credentials', () => {
    expect(env).not.toHaveProperty('FORREST_REGISTRY_PASSWORD')
    expect(env).not.toHaveProperty('ETCDCTL_PASSWORD')
    expect(env).not.toHaveProperty('FORREST_SECRET_KEY')
    for (const k of OWN_CREDENTIAL_VARIABLES) expect(env).not.toHaveProperty(k)
    expect(Object.values(env).join('\n')).not.toContain('secret-')
  })

  it('keeps the rest of the job\'s environment and the deploy\'s facts (facts win)', () => {
    expect(env).toEqual({ PATH: '/usr/bin', CI_JOB_ID: '42', FORREST_APP: 'web', FORREST_HOOK: 'pre-deploy' })
  })
})
