import { describe, expect, it } from 'vitest'
import { ForrestError } from '../../src/errors.js'
import { countsFor, parseScaleArgs } from '../../src/verbs/scale-counts.js'

const refused = (fn: () => unknown): ForrestError => {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ForrestError)
    expect(err).toMatchObject({ code: 'BAD_INPUT', exit: 2 })
    return err as ForrestError
  }
  throw new Error('expected BAD_INPUT')
}

describe('forrest scale arguments', () => {
  it('reads a bare count or PROCESS=N pairs', () => {
    expect(parseScaleArgs(['5'])).toEqual({ bare: 5 })
    expect(parseScaleArgs(['worker=5'])).toEqual({ counts: { worker: 5 } })
    expect(parseScaleArgs(['web=3', 'worker=0'])).toEqual({ counts: { web: 3, worker: 0 } })
  })

  it.each([[['x']], [['-1']], [['1.5']], [['worker=']], [['worker=5', 'worker=6']], [[]]])('refuses %j (exit 2)', (args) => {
    refused(() => parseScaleArgs(args))
  })

  const current = { web: 2, workers: { worker: 1, mailer: 1 } }
  it('a bare count scales web of an app of one process, and is refused naming the processes for an app of several', () => {
    expect(countsFor('shop', { bare: 4 }, ['web'], { web: 2, workers: {} })).toEqual({ web: 4, workers: {} })
    const err = refused(() => countsFor('shop', { bare: 4 }, ['web', 'mailer', 'worker'], current))
    expect(err.message).toBe('shop has several processes (web, mailer, worker): say which to scale; nothing was changed')
    expect(err.suggestion).toContain('forrest scale shop web=N mailer=N worker=N')
  })

  it('scales the named processes and keeps the others', () => {
    expect(countsFor('shop', { counts: { worker: 5 } }, ['web', 'mailer', 'worker'], current)).toEqual({ web: 2, workers: { worker: 5, mailer: 1 } })
    expect(countsFor('shop', { counts: { web: 3, mailer: 0 } }, ['web', 'mailer', 'worker'], current)).toEqual({ web: 3, workers: { worker: 1, mailer: 0 } })
  })

  it('refuses an unknown process, naming the known ones', () => {
    const err = refused(() => countsFor('shop', { counts: { wroker: 5 } }, ['web', 'worker'], { web: 2, workers: { worker: 1 } }))
    expect(err.message).toBe('shop has no process "wroker"; its processes: web, worker; nothing was changed')
  })
})
