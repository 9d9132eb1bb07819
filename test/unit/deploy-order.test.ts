import { describe, expect, it } from 'vitest'
import { describeOrderProblem, orderApps, type AppEntry } from '../../src/plan/deploy-order.js'

const app = (name: string, ...dependsOn: string[]): AppEntry => ({ file: `apps/${name}.yml`, name, dependsOn })
const names = (entries: AppEntry[]) => {
  const r = orderApps(entries)
  if (!r.ok) throw new Error(`unexpected problems: ${r.problems.map(describeOrderProblem).join('; ')}`)
  return r.order.map((e) => e.name)
}

describe('orderApps: the order several apps deploy in', () => {
  it('keeps the given order when nothing is declared', () => {
    expect(names([app('b'), app('a'), app('c')])).toEqual(['b', 'a', 'c'])
  })

  it('puts a dependency before its dependents, whatever order the files come in', () => {
    expect(names([app('web', 'migrator'), app('migrator')])).toEqual(['migrator', 'web'])
    expect(names([app('web', 'api'), app('api', 'db'), app('db'), app('worker')])).toEqual(['db', 'api', 'web', 'worker'])
  })

  it('a diamond: each app once, after all it depends on', () => {
    const order = names([app('top', 'left', 'right'), app('left', 'base'), app('right', 'base'), app('base')])
    expect(order).toEqual(['base', 'left', 'right', 'top'])
  })

  it('refuses a cycle, naming the apps and their files', () => {
    const r = orderApps([app('a', 'c'), app('b', 'a'), app('c', 'b'), app('free')])
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.problems).toHaveLength(1)
    const [p] = r.problems
    expect(p!.kind).toBe('cycle')
    if (p!.kind !== 'cycle') return
    expect(p.names[0]).toBe(p.names[p.names.length - 1])
    expect(new Set(p.names)).toEqual(new Set(['a', 'b', 'c']))
    expect([...p.files].sort()).toEqual(['apps/a.yml', 'apps/b.yml', 'apps/c.yml'])
    expect(describeOrderProblem(p)).toMatch(/^dependsOn forms a cycle .* → .*apps\/a\.yml/)
  })

  it('reports only the cycle, not the apps merely waiting behind it', () => {
    const r = orderApps([app('x', 'a'), app('a', 'b'), app('b', 'a')])
    expect(r.ok).toBe(false)
    if (r.ok || r.problems[0]!.kind !== 'cycle') throw new Error('expected a cycle')
    expect(new Set(r.problems[0]!.names)).toEqual(new Set(['a', 'b']))
  })

  it('refuses an app that depends on itself', () => {
    const r = orderApps([app('a', 'a')])
    expect(r).toEqual({ ok: false, problems: [{ kind: 'cycle', names: ['a', 'a'], files: ['apps/a.yml'] }] })
  })

  it('refuses two files with one app name, naming both files', () => {
    const r = orderApps([app('a'), { file: 'other/a.yml', name: 'a', dependsOn: [] }, app('b')])
    expect(r).toEqual({ ok: false, problems: [{ kind: 'duplicate', name: 'a', files: ['apps/a.yml', 'other/a.yml'] }] })
    if (!r.ok) expect(describeOrderProblem(r.problems[0]!)).toBe('app "a" is named by 2 files (apps/a.yml, other/a.yml): give each app one file')
  })

  it('refuses a dependsOn naming no file of the set, and reports every problem at once', () => {
    const r = orderApps([app('web', 'db'), app('api', 'cache'), app('api')])
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.problems.map((p) => p.kind).sort()).toEqual(['duplicate', 'missing', 'missing'])
    expect(r.problems.map(describeOrderProblem)).toContain('apps/web.yml: dependsOn: "db" names no app among the files given: add its file, or remove it from dependsOn')
  })
})
