/**
 * Where the shared inventory is, one rule for every command (deploy, diff, launch --host, stop --host):
 * the file a flag names, else $FORREST_INVENTORY, else forrest.hosts.yml beside the deployment file,
 * else ./forrest.hosts.yml. Pure: which files exist is given.
 */
import { describe, expect, it } from 'vitest'
import { inventoryPath } from '../../src/spec/inventory.js'

const has = (...files: string[]) => (f: string) => files.includes(f)

describe('inventoryPath: one rule for every command', () => {
  it('a flag wins, then FORREST_INVENTORY; either is explicit (it must exist)', () => {
    expect(inventoryPath({ named: 'a.yml', env: { FORREST_INVENTORY: 'b.yml' }, specPath: 'd/app.yml', exists: has() })).toEqual({ file: 'a.yml', explicit: true })
    expect(inventoryPath({ env: { FORREST_INVENTORY: 'b.yml' }, specPath: 'd/app.yml', exists: has('d/forrest.hosts.yml') })).toEqual({ file: 'b.yml', explicit: true })
  })
  it('then forrest.hosts.yml beside the deployment file, then in the current directory', () => {
    expect(inventoryPath({ env: {}, specPath: 'd/app.yml', exists: has('d/forrest.hosts.yml', 'forrest.hosts.yml') })).toEqual({ file: 'd/forrest.hosts.yml', explicit: false })
    expect(inventoryPath({ env: {}, specPath: 'd/app.yml', exists: has('forrest.hosts.yml') })).toEqual({ file: 'forrest.hosts.yml', explicit: false })
    // launch and stop have no deployment file: the current directory.
    expect(inventoryPath({ env: {}, exists: has('forrest.hosts.yml') })).toEqual({ file: 'forrest.hosts.yml', explicit: false })
  })
  it('none anywhere, or FORREST_INVENTORY set empty: undefined (the caller says where to put one)', () => {
    expect(inventoryPath({ env: {}, specPath: 'd/app.yml', exists: has() })).toBeUndefined()
    expect(inventoryPath({ env: { FORREST_INVENTORY: '' }, exists: has() })).toBeUndefined()
  })
})
