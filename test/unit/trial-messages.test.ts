import { describe, expect, it } from 'vitest'
import { describeLeftover } from '../../src/engine/leftover.js'

// Messages found wrong or unhelpful by trying the new features as a new user (brief: trial).
describe('an interrupted deploy of an app with workers says what it left', () => {
  const web = (name: string, revision: number, registered = true) => ({ name, revision, registered, running: true })
  const worker = (name: string, revision: number) => ({ name, revision, registered: false, running: true, process: 'worker' })

  it('counts workers on their own, never as instances "running but not registered"', () => {
    const text = describeLeftover([web('shop-r2-1', 2), web('shop-r1-2', 1), worker('shop-worker-r1-1', 1), worker('shop-worker-r1-2', 1)], 2, 1)
    expect(text).toMatch(/^left: 1 instance of revision 2 \(new\), 1 of revision 1 \(old\); all registered; worker: 0 of revision 2 \(new\), 2 of revision 1 \(old\) \(worker, never registered\)\./)
    expect(text).not.toContain('not registered (')
    expect(text).not.toContain('adopts an unregistered one')
  })

  it('still names a web instance that runs unregistered', () => {
    const text = describeLeftover([web('shop-r2-1', 2, false), web('shop-r1-1', 1), worker('shop-worker-r2-1', 2)], 2, 1)
    expect(text).toContain('1 instance running but not registered (shop-r2-1: no traffic)')
    expect(text).toContain('worker: 1 of revision 2 (new) (worker, never registered)')
  })
})
