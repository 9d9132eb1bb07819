import { describe, expect, it } from 'vitest'
import { describeActor } from '../../src/actor.js'
import { diffSpecs } from '../../src/spec/diff.js'
import { loadSpec } from '../../src/spec/load.js'

describe('describeActor', () => {
  it('names the CI job from the usual variables', () => {
    expect(describeActor({ GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '42', GITHUB_ACTOR: 'ann' }, 'root', 'h')).toBe('github o/r run 42 (ann)')
    expect(describeActor({ GITLAB_CI: 'true', CI_PROJECT_PATH: 'g/p', CI_JOB_ID: '7' }, 'root', 'h')).toBe('gitlab g/p job 7 (root)')
    expect(describeActor({ JENKINS_URL: 'x', JOB_NAME: 'deploy', BUILD_NUMBER: '3' }, 'root', 'h')).toBe('jenkins deploy #3')
  })
  it('falls back to user@host', () => expect(describeActor({}, 'ann', 'box')).toBe('ann@box'))
})

describe('diffSpecs', () => {
  const base = loadSpec('name: a\nimage: demo/myapp:1\nenv: {A: "1", B: "2"}\n', 'a.yml')
  it('says what changed between revisions', () => {
    const next = loadSpec('name: a\nimage: demo/myapp:2\nreplicas: 4\nenv: {A: "9", C: "3"}\n', 'a.yml')
    expect(diffSpecs(base, next)).toEqual(['image demo/myapp:1 → demo/myapp:2', 'env ~A', 'env -B', 'env +C', 'replicas 1 → 4'])
  })
  it('notices a moved tag', () => expect(diffSpecs(base, base, 'sha256:aaaaaaaaaaaaaaaaaaaa', 'sha256:bbbbbbbbbbbbbbbbbbbb')).toEqual(['image demo/myapp:1 now resolves to bbbbbbbbbbbb']))
  it('first revision', () => expect(diffSpecs(undefined, base)).toEqual(['first revision']))
})
