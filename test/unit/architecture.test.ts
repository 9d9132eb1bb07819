import { describe, expect, it } from 'vitest'
import { cycles, graph, violations, type FileNode } from '../../scripts/arch-map.mjs'

// The house rules (#24, docs/architecture.md), read from src/'s own imports by scripts/arch-map.mjs
// (`node scripts/arch-map.mjs` prints the same findings). Run on main before the house refactor
// (ceaa1fc), "no import cycles" failed (2 cycles), "dockerode/etcd3" failed (5 imports outside
// their adapter) and "reads src/" failed (commands/deploy.ts imported rollout/deploy.ts); the
// planner and verb rules held there (src/verbs/ held only logs.ts). Right after the move, before
// engine/types.ts, "no verb imports another verb" failed twice (promote, rollback → scale).
describe('architecture', () => {
  const nodes = graph()
  const found = violations(nodes)

  it('reads src/ (the graph is not empty, imports resolve)', () => {
    expect(nodes.size).toBeGreaterThan(50)
    expect(nodes.get('commands/deploy.ts')?.edges.some((e) => e.to === 'verbs/deploy.ts')).toBe(true)
  })

  it('has no import cycles (type-only and import() included)', () => {
    expect(found.cycles.map((c) => c.edges.join('; '))).toEqual([])
  })

  it('imports dockerode only in src/docker and etcd3 only in src/registry (type imports too)', () => {
    expect(found.confinement).toEqual([])
  })

  it('keeps the planner pure: src/plan imports no adapter', () => {
    expect(found.impurePlanner).toEqual([])
  })

  it('lets no verb import another verb (src/verbs/<verb>-<part>.ts are its own parts)', () => {
    expect(found.verbToVerb).toEqual([])
  })

  // The checks can fail: each finds what it looks for in a small made-up graph.
  it('finds a cycle, a stray etcd3, an impure planner and a verb reaching into another', () => {
    const node = (edges: string[], pkgs: string[] = []): FileNode => ({
      lines: 1,
      edges: edges.map((to) => ({ to, typeOnly: false, dynamic: false })),
      external: pkgs.map((pkg) => ({ pkg, typeOnly: true, dynamic: false })),
    })
    const bad = new Map<string, FileNode>([
      ['engine/a.ts', node(['engine/b.ts'])],
      ['engine/b.ts', node(['engine/a.ts'], ['etcd3'])],
      ['plan/p.ts', node(['registry/records.ts'])],
      ['registry/records.ts', node([])],
      ['verbs/promote.ts', node(['verbs/scale.ts', 'verbs/promote-wait.ts'])],
      ['verbs/promote-wait.ts', node([])],
      ['verbs/scale.ts', node([])],
    ])
    const v = violations(bad)
    expect(cycles(bad).map((c) => c.files)).toEqual([['engine/a.ts', 'engine/b.ts']])
    expect(v.confinement).toEqual(['engine/b.ts imports etcd3 (type only); only src/registry/ may'])
    expect(v.impurePlanner).toEqual(['plan/p.ts imports registry/records.ts'])
    expect(v.verbToVerb).toEqual(['verbs/promote.ts imports verbs/scale.ts'])
  })
})
