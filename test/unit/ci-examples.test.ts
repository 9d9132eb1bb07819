import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { EXIT } from '../../src/errors.js'

/** The CI examples users copy: valid YAML, deploying with --json, and branching only on real exit codes. */
const files = ['examples/ci/github-actions.yml', 'examples/ci/gitlab-ci.yml']
const known = new Set<number>(Object.values(EXIT))

describe.each(files)('%s', (file) => {
  const text = readFileSync(file, 'utf8')
  const doc = parse(text)

  it('is YAML with a deploy that keeps its --json result', () => {
    expect(doc).toBeTypeOf('object')
    expect(text).toMatch(/forrest deploy "\$DEPLOYMENT" [^\n]*--json[^\n]*> deploy\.json/)
    expect(text).toMatch(/deploy\.json/)
    expect(text).toMatch(/when: always|if: always\(\)/)
  })

  it('branches on exit codes forrest really has, covering every outcome of a deploy', () => {
    const branched = [...text.matchAll(/^\s+((?:\d+)(?:\s*\|\s*\d+)*)\)/gm)].flatMap((m) => m[1]!.split('|').map((c) => Number(c.trim())))
    for (const c of branched) expect(known, `exit ${c}`).toContain(c)
    for (const c of [EXIT.ok, EXIT.badInput, EXIT.rolledBack, EXIT.failed, EXIT.lockHeld, EXIT.etcdUnreachable, EXIT.dockerUnreachable, EXIT.gatewaysMissing, EXIT.lockLost]) expect(branched).toContain(c)
  })
})

it('gitlab retries only the exit codes that change nothing', () => {
  const doc = parse(readFileSync('examples/ci/gitlab-ci.yml', 'utf8'))
  expect(doc.deploy.retry.exit_codes).toEqual([EXIT.etcdUnreachable, EXIT.dockerUnreachable])
  expect(doc.deploy.artifacts.paths).toEqual(['deploy.json', 'rollout.svg'])
})
