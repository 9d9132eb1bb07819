import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseDocument } from 'yaml'

const dir = mkdtempSync(join(tmpdir(), 'forrest-specs-'))

/** Writes deployments/myapp.yml with the given fields changed (dotted paths) to a temp file. */
export function specFile(name: string, changes: Record<string, unknown>): string {
  const doc = parseDocument(readFileSync('deployments/myapp.yml', 'utf8'))
  for (const [path, value] of Object.entries(changes)) doc.setIn(path.split('.'), value)
  const file = join(dir, `${name}.yml`)
  writeFileSync(file, doc.toString())
  return file
}
