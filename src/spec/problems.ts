/**
 * How problems with a deployment file are reported: one INVALID_SPEC error listing each as
 * `FILE:LINE:COL path: reason`, in file order, with every problem in its detail.
 */
import { ForrestError } from '../errors.js'
import type { FileProblem } from './decode.js'

export interface SpecProblem {
  file: string
  line: number
  col: number
  /** Dotted path of the offending key, "(root)" for the document itself. */
  path: string
  message: string
}

const SUGGESTION =
  'Fix the lines listed above. For completion and checks in your editor, start the file with ' +
  '"# yaml-language-server: $schema=<path to forrest>/schema/deployment.schema.json".'

/** Problems listed in the message; a hostile file can have tens of thousands. All stay in the detail. */
const LISTED = 100

export const rootProblem = (file: string, problem: FileProblem): SpecProblem => ({ file, path: '(root)', ...problem })

/** `first`, and the problems of `second` at places `first` has not reported: one problem per place. */
export function withoutSamePlace(first: SpecProblem[], second: SpecProblem[]): SpecProblem[] {
  const places = new Set(first.map((p) => `${p.line}:${p.col}`))
  return [...first, ...second.filter((p) => !places.has(`${p.line}:${p.col}`))]
}

export function invalidSpec(file: string, unsorted: SpecProblem[], what = 'deployment spec'): ForrestError {
  const problems = [...unsorted].sort((a, b) => a.line - b.line || a.col - b.col)
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
  const lines = problems.slice(0, LISTED).map((p) => `${p.file}:${p.line}:${p.col} ${p.path}: ${p.message}`)
  if (problems.length > LISTED) lines.push(`… and ${problems.length - LISTED} more`)
  return new ForrestError('INVALID_SPEC', [`invalid ${what} ${file} (${count}):`, ...lines].join('\n'), {
    suggestion: SUGGESTION,
    detail: { problems },
  })
}
