/**
 * The shared inventory (issue #27): hosts described once in forrest.hosts.yml (or the file
 * --inventory / FORREST_INVENTORY names) and used by an app with `hosts: inventory`, picked by
 * placement.labels; the same fields and checks as an app's own hosts list; every problem named
 * by file, line and field (exit 2) before anything else happens.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EXIT, ForrestError } from '../../src/errors.js'
import { loadSpec, loadSpecFile } from '../../src/spec/load.js'
import { loadSpecSet } from '../../src/spec/load-set.js'

const INV = 'hosts:\n  - {name: h1, docker: "tcp://10.0.0.11:2376", address: 10.0.0.11, labels: {pool: a}}\n  - {name: h2, docker: "ssh://deploy@10.0.0.12", address: 10.0.0.12, labels: {pool: b}}\n'
const APP = (extra = '') => `name: web\nimage: nginx:1\nhosts: inventory\n${extra}`
const inventory = { file: 'forrest.hosts.yml', hosts: [
  { name: 'h1', docker: 'tcp://10.0.0.11:2376', address: '10.0.0.11', labels: { pool: 'a' } },
  { name: 'h2', docker: 'ssh://deploy@10.0.0.12', address: '10.0.0.12', labels: { pool: 'b' } },
] }

async function failure(p: Promise<unknown>): Promise<ForrestError> {
  try {
    await p
  } catch (err) {
    return err as ForrestError
  }
  throw new Error('expected a failure')
}

describe('hosts: inventory', () => {
  it('takes the inventory\'s hosts, with placement.labels choosing among them', () => {
    expect(loadSpec(APP(), 'web.yml', inventory).hosts?.map((h) => h.name)).toEqual(['h1', 'h2'])
    // Only the hosts carrying the labels are the app's: only they must answer, status looks at them.
    const placed = loadSpec(APP('placement: {labels: {pool: b}}\n'), 'web.yml', inventory)
    expect(placed.hosts?.map((h) => h.name)).toEqual(['h2'])
    expect(placed.placement?.labels).toEqual({ pool: 'b' })
    expect(() => loadSpec(APP('placement: {labels: {pool: c}}\n'), 'web.yml', inventory)).toThrow(/placement\.labels: no host carries all these labels/)
  })

  it('without an inventory, names the file, the field and where to put one (exit 2)', () => {
    const err = (() => {
      try {
        loadSpec(APP(), 'web.yml')
      } catch (e) {
        return e as ForrestError
      }
    })()!
    expect(err.exit).toBe(EXIT.badInput)
    expect(err.message).toMatch(/web\.yml:3:\d+ hosts: "inventory", but no inventory was found: put forrest\.hosts\.yml beside this file, or name one with --inventory FILE or FORREST_INVENTORY/)
  })
})

describe('the inventory file', () => {
  let dir: string
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text)
    return join(dir, name)
  }
  afterEach(() => {
    delete process.env.FORREST_INVENTORY
  })

  it('is forrest.hosts.yml beside the app\'s file, or the one --inventory or FORREST_INVENTORY names', async () => {
    dir = mkdtempSync(join(tmpdir(), 'forrest-inv-'))
    write('forrest.hosts.yml', INV)
    const app = write('web.yml', APP())
    expect((await loadSpecFile(app)).hosts?.map((h) => h.docker)).toEqual(['tcp://10.0.0.11:2376', 'ssh://deploy@10.0.0.12'])
    const other = write('other.yml', 'hosts:\n  - {name: h9, docker: "tcp://10.0.0.19:2376", address: 10.0.0.19}\n')
    expect((await loadSpecFile(app, { inventory: other })).hosts?.map((h) => h.name)).toEqual(['h9'])
    process.env.FORREST_INVENTORY = other
    expect((await loadSpecFile(app)).hosts?.map((h) => h.name)).toEqual(['h9'])
  })

  it('an app with its own hosts list never reads it (even a broken one)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'forrest-inv-'))
    write('forrest.hosts.yml', 'hosts: [oops\n')
    const app = write('web.yml', 'name: web\nimage: nginx:1\nhosts:\n  - {name: a, docker: "tcp://10.0.0.1:2376", address: 10.0.0.1}\n')
    expect((await loadSpecFile(app)).hosts?.map((h) => h.name)).toEqual(['a'])
  })

  it('is validated like a hosts list: every problem with the inventory\'s file, line and field (exit 2)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'forrest-inv-'))
    const inv = write('forrest.hosts.yml', 'hosts:\n  - {name: h1, docker: "http://x", address: 10.0.0.11}\n  - {name: h1, docker: "tcp://10.0.0.12:2376", address: 10.0.0.12, zone: a}\n')
    const err = await failure(loadSpecFile(write('web.yml', APP())))
    expect(err.exit).toBe(EXIT.badInput)
    expect(err.message).toContain(`invalid inventory ${inv} (3 problems):`)
    expect(err.message).toMatch(/forrest\.hosts\.yml:2:\d+ hosts\[0\]\.docker: expected unix:\/\/\/path, tcp:\/\/host:port or ssh:\/\/user@host\[:port\]/)
    expect(err.message).toMatch(/forrest\.hosts\.yml:3:\d+ hosts\[1\]\.name: the same name as hosts\[0\]; each host once/)
    expect(err.message).toMatch(/forrest\.hosts\.yml:3:\d+ hosts\[1\]\.zone: unknown key/)
  })

  it('a named inventory that cannot be read is bad input naming it, nothing else read', async () => {
    dir = mkdtempSync(join(tmpdir(), 'forrest-inv-'))
    const err = await failure(loadSpecFile(write('web.yml', APP()), { inventory: join(dir, 'missing.yml') }))
    expect(err.exit).toBe(EXIT.badInput)
    expect(err.message).toMatch(/cannot read inventory .*missing\.yml: no such file; nothing was changed/)
  })

  it('in a directory deployed as a set (forrest deploy DIR), is the apps\' inventory, not an app', async () => {
    dir = mkdtempSync(join(tmpdir(), 'forrest-inv-'))
    write('forrest.hosts.yml', INV)
    write('web.yml', APP())
    const set = await loadSpecSet([dir])
    expect(set.map((f) => f.spec.name)).toEqual(['web'])
    expect(set[0]!.spec.hosts?.map((h) => h.name)).toEqual(['h1', 'h2'])
  })
})
