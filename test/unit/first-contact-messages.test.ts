import { describe, expect, it } from 'vitest'
import { guessDuration } from '../../src/spec/duration.js'
import { closestCommand } from '../../src/hooks/did-you-mean.js'
import { renderRolloutSvg } from '../../src/report/rollout-svg.js'
import { describeRevisionImage } from '../../src/engine/image.js'
import { describeLeftover } from '../../src/engine/leftover.js'

const inst = (name: string, revision: number, registered = true, running = true) => ({ name, revision, registered, running })

describe('describeLeftover (what an interrupted rollout left)', () => {
  it('counts new and old instances and says they are all registered', () => {
    const text = describeLeftover([inst('a-r2-1', 2), inst('a-r1-2', 1)], 2, 1)
    expect(text).toMatch(/^left: 1 instance of revision 2 \(new\), 1 of revision 1 \(old\); all registered\./)
    expect(text).toMatch(/The next `forrest deploy` of the same file continues to revision 2: it keeps the new instances that serve and replaces the old ones; deploying the previous file instead returns to revision 1\./)
  })

  it('names instances that run but are not registered, and what the next deploy does with them', () => {
    const text = describeLeftover([inst('a-r2-1', 2, false), inst('a-r1-1', 1), inst('a-r1-2', 1)], 2, 1)
    expect(text).toContain('1 instance of revision 2 (new)')
    expect(text).toContain('2 of revision 1 (old)')
    expect(text).toContain('1 instance running but not registered (a-r2-1: no traffic)')
    expect(text).toContain('adopts an unregistered one of revision 2 if it is healthy (removes the others)')
  })

  it('a first deploy interrupted before anything ran left nothing', () => {
    expect(describeLeftover([], 1)).toBe('left: 0 instances of revision 1 (new); nothing running. The next `forrest deploy` of the same file starts revision 1 from scratch.')
  })

  it('stopped containers are not counted as left running', () => {
    expect(describeLeftover([inst('a-r2-1', 2, false, false), inst('a-r1-1', 1)], 2, 1)).toMatch(/^left: 0 instances of revision 2 \(new\), 1 of revision 1 \(old\); all registered\./)
  })
})

describe('describeRevisionImage (rollback, promote, scale name the image by its tag)', () => {
  it('a registry image: the tag and the short digest', () => {
    const rec = { revision: 1, imageId: 'sha256:' + 'b'.repeat(64), digest: 'sha256:' + 'a'.repeat(64), spec: { image: 'registry.example/app:1' } }
    expect(describeRevisionImage(rec)).toBe(`registry.example/app:1 (sha256:${'a'.repeat(12)}, revision 1)`)
  })
  it('an image built on the host: the tag and the short image ID, never the bare ID alone', () => {
    const rec = { revision: 3, imageId: 'sha256:1f5769d56656' + 'c'.repeat(52), spec: { image: 'demo/myapp:1' } }
    expect(describeRevisionImage(rec)).toBe('demo/myapp:1 (sha256:1f5769d56656, revision 3)')
  })
})

describe('rollout SVG title', () => {
  it('says "1 step", not "1 steps"', () => {
    const T = 1_700_000_000_000
    const svg = renderRolloutSvg({
      app: 'myapp',
      outcome: 'succeeded',
      revision: 1,
      timings: { totalMs: 500, steps: [{ kind: 'start', instance: 'myapp-r1-1', revision: 1, ok: true, ms: 400, detail: 'healthy', at: T, events: [{ phase: 'started', at: T + 100 }] }] },
    })
    expect(svg).toContain('myapp: revision 1, succeeded in 0.50s (1 step)')
  })
})

describe('closestCommand (did you mean)', () => {
  const ids = ['gateway', 'deploy', 'launch', 'stop', 'scale', 'rollback', 'promote', 'abort', 'status', 'history', 'diff', 'logs', 'render', 'completion']
  it.each([
    ['stauts', 'status'],
    ['deplyo', 'deploy'],
    ['histroy', 'history'],
    ['rolback', 'rollback'],
    ['log', 'logs'],
    ['Status', 'status'],
    ['dep', 'deploy'],
  ])('%s → %s', (typed, want) => expect(closestCommand(typed, ids)).toBe(want))
  it('guesses nothing for a word that is not a typo', () => {
    expect(closestCommand('frobnicate', ids)).toBeUndefined()
    expect(closestCommand('x', ids)).toBeUndefined()
  })
})

describe('guessDuration (a duration that is not one: did you mean)', () => {
  it.each([
    [2, '2s'],
    ['2', '2s'],
    [500, '500ms'],
    [1.5, '1s500ms'],
    ['2 sec', '2s'],
    ['10 seconds', '10s'],
    ['300 ms', '300ms'],
    ['2 minutes', '2m'],
    ['1.5s', '1s500ms'],
  ])('%j → %s', (input, want) => expect(guessDuration(input)).toBe(want))
  it('no guess for words', () => expect(guessDuration('soon')).toBeUndefined())
})
