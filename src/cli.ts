import { execute, type Interfaces } from '@oclif/core'

export { COMMANDS } from './commands/index.js'
export { default as NOT_FOUND_HOOK } from './hooks/not-found.js'

/**
 * The entry of the bundled CLI (dist/forrest.cjs, made by scripts/bundle.mjs, loaded by
 * src/cli-loader.ts): oclif as usual, told that the command registry is the bundle itself (its
 * `COMMANDS` export), so it never loads the unbundled dist/ tree or a second @oclif/core.
 */
export async function run(root: string, bundle: string, pjson: Interfaces.PJSON): Promise<unknown> {
  pjson.oclif = {
    ...pjson.oclif,
    commands: { strategy: 'explicit', target: bundle, identifier: 'COMMANDS' },
    hooks: { ...pjson.oclif.hooks, command_not_found: { target: bundle, identifier: 'NOT_FOUND_HOOK' } },
  }
  return execute({ loadOptions: { root, pjson, isRoot: true } as Interfaces.LoadOptions })
}
