import { describe, expect, it } from 'vitest'
import { withCanary } from '../../src/plan/canary.js'
import { describePlan, instanceName, planRollout, type ObservedInstance } from '../../src/plan/index.js'

const APP = 'myapp'
const inst = (revision: number, o: number, registered = true): ObservedInstance => ({ name: instanceName(APP, revision, o), containerId: `c-${revision}-${o}`, revision, running: true, registered, address: `10.0.0.1:${30000 + o}` })
const target = { revision: 2, replicas: 3, maxSurge: 1, maxUnavailable: 0, order: 'start-first' as const }

/** The "N waves" the header announces, and the waves the plan lists after it. */
function announcedAndListed(lines: string[]) {
  const announced = Number(/^(\d+) waves?\b/.exec(lines.find((l) => /^\d+ waves?\b/.test(l)) ?? '')?.[1])
  const listed = lines.filter((l) => /^wave \d+:/.test(l)).length
  return { announced, listed }
}

describe('the plan header agrees with the waves listed', () => {
  it('with a drift wave (an unregistered instance to adopt) before the update', () => {
    const plan = planRollout(target, { app: APP, currentRevision: 1, instances: [inst(1, 1), inst(1, 2), inst(1, 3), inst(2, 1, false)] })
    const { announced, listed } = announcedAndListed(describePlan(plan))
    expect(listed).toBeGreaterThan(1)
    expect(announced).toBe(listed)
  })

  it('with a canary wave split off the update', () => {
    const plan = withCanary(planRollout(target, { app: APP, currentRevision: 1, instances: [inst(1, 1), inst(1, 2), inst(1, 3)] }), 1)
    const { announced, listed } = announcedAndListed(describePlan(plan))
    expect(announced).toBe(listed)
  })
})
