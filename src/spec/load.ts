/**
 * Load and validate a deployment YAML. `loadSpec` is pure (text in, DeploymentSpec out);
 * `loadSpecFile` is the only file I/O in src/spec. Every problem is reported at once, each as
 * `FILE:LINE:COL path: reason`, in a single INVALID_SPEC error.
 */
import { readFile } from 'node:fs/promises'
import { LineCounter, parseDocument, type Document } from 'yaml'
import type { z } from 'zod'
import { ForrestError } from '../errors.js'
import { REQUIRED, errorMap, formatPath, unknownKeyMessage } from './issues.js'
import { locate } from './locate.js'
import { deploymentSchema } from './schema.js'
import type { DeploymentSpec } from './types.js'

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

export function loadSpec(text: string, file: string): DeploymentSpec {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const at = (offset: number) => lineCounter.linePos(offset)

  if (doc.errors.length > 0) {
    throw invalidSpec(
      file,
      doc.errors.map((err) => ({ file, ...at(err.pos[0]), path: '(root)', message: `YAML syntax: ${syntaxMessage(err.code, err.message)}` })),
    )
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 })
  if (data === null || data === undefined) {
    throw invalidSpec(file, [{ file, line: 1, col: 1, path: '(root)', message: 'the file is empty; expected a mapping with at least name and image' }])
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    const got = Array.isArray(data) ? 'a list' : `a ${typeof data}`
    const pos = at(doc.contents?.range?.[0] ?? 0)
    throw invalidSpec(file, [{ file, ...pos, path: '(root)', message: `expected a mapping (name: ..., image: ...), got ${got}` }])
  }

  const result = deploymentSchema.safeParse(data, { error: errorMap })
  if (!result.success) throw invalidSpec(file, result.error.issues.flatMap((issue) => toProblems(issue, doc, lineCounter, file)))
  return result.data
}

export async function loadSpecFile(path: string): Promise<DeploymentSpec> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ForrestError('BAD_INPUT', `cannot read deployment spec ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, {
      cause: err,
      suggestion: 'Pass the path of a deployment YAML, e.g. deployments/myapp.yml.',
    })
  }
  return loadSpec(text, path)
}

function toProblems(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter, file: string): SpecProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...issue.path, key]
      return { file, ...locate(doc, lineCounter, path, 'key'), path: formatPath(path), message: unknownKeyMessage(key, issue.path) }
    })
  }
  if (issue.code === 'invalid_key') {
    // A record key failed (e.g. a reserved "forrest." label): point at the key, use its own message.
    return [{ file, ...locate(doc, lineCounter, issue.path, 'key'), path: formatPath(issue.path), message: issue.issues[0]?.message ?? issue.message }]
  }
  const last = issue.path[issue.path.length - 1]
  const message = issue.message === REQUIRED ? `missing required key '${String(last)}'` : issue.message
  return [{ file, ...locate(doc, lineCounter, issue.path), path: formatPath(issue.path), message }]
}

function syntaxMessage(code: string, message: string): string {
  if (code === 'MULTIPLE_DOCS') return 'found more than one YAML document ("---"); put one app per file'
  if (code === 'DUPLICATE_KEY') return 'this key appears twice in the same mapping'
  // yaml's messages end with "at line L, column C" and a code frame when pretty; keep the first sentence.
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
}

function invalidSpec(file: string, unsorted: SpecProblem[]): ForrestError {
  const problems = [...unsorted].sort((a, b) => a.line - b.line || a.col - b.col)
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
  const lines = problems.map((p) => `${p.file}:${p.line}:${p.col} ${p.path}: ${p.message}`)
  return new ForrestError('INVALID_SPEC', [`invalid deployment spec ${file} (${count}):`, ...lines].join('\n'), {
    suggestion: SUGGESTION,
    detail: { problems },
  })
}
