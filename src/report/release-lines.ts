import type { ReleaseReport } from '../engine/types.js'

/** One line of a release command's output, as the deploy prints it while the command runs. */
export const releaseLine = (text: string): string => `release │ ${text}`

/** The line the deploy prints when the release command has ended. */
export function releaseSummary(r: ReleaseReport): string {
  const took = `${(r.durationMs / 1000).toFixed(1)}s`
  const cmd = JSON.stringify(r.command)
  if (r.timedOut) return `release command ${cmd} timed out after ${took} on ${r.host}`
  return `release command ${cmd} exited ${r.exitCode} after ${took} on ${r.host}`
}
