export type RendererName = 'default' | 'simple' | 'silent'

/**
 * Pure choice of listr2 renderer (as lint-staged does): --json or quiet → silent; a TTY outside
 * CI → listr2's default; otherwise (CI logs, pipes) plain timestamped lines.
 */
export function chooseRenderer(opts: { isTTY: boolean; env: NodeJS.ProcessEnv; json?: boolean; quiet?: boolean }): RendererName {
  if (opts.json || opts.quiet) return 'silent'
  const ci = Boolean(opts.env.CI && opts.env.CI !== 'false') || opts.env.TERM === 'dumb'
  return opts.isTTY && !ci ? 'default' : 'simple'
}
