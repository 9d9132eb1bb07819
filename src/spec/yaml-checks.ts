/**
 * Checks on the YAML document itself, for what its data cannot show: a key written twice (YAML
 * keeps the last), a tag YAML cannot resolve (`!Ref x` would be used as the text "x"), a plain
 * value YAML reads differently from how it is written (`UMASK: 0022` becomes "22"), and aliases
 * or nesting that would make converting the document unbounded. One pass over the nodes, linear
 * in their number: aliases are counted and sized, never followed.
 */
import { isAlias, isMap, isScalar, isSeq, type Alias, type Document, type Node, type Scalar, type YAMLMap } from 'yaml'

export interface NodeProblem {
  offset: number
  path: PropertyKey[]
  message: string
}

export interface DocumentReport {
  problems: NodeProblem[]
  /** False when converting the document to data would fail or be unbounded: report, do not convert. */
  convertible: boolean
}

/** A deployment file nests three levels (env → name → value); anything far deeper is a mistake or an attack. */
export const MAX_DEPTH = 16
/** A file shares a block of env or labels a few times at most. */
export const MAX_ALIASES = 100
/** Values that aliases may add when expanded: far above any real use, far below an alias bomb's billions. */
export const MAX_EXPANDED = 100_000

/** Env and label names and values are turned into text, so a value YAML reads differently from how it is written changes. */
const STRINGIFIED = new Set(['env', 'labels'])
const isStringified = (path: PropertyKey[]) => path.length === 2 && STRINGIFIED.has(String(path[0]))
const PLAIN_INTEGER = /^-?(0|[1-9][0-9]*)$/

const startOf = (node: Node | null | undefined): number => node?.range?.[0] ?? 0
const tagName = (tag: string) => tag.replace(/^tag:yaml\.org,2002:/, '!!')
const describe = (value: unknown) => (typeof value === 'boolean' ? `the boolean ${value}` : `the number ${String(value)}`)

export function checkDocument(doc: Document, lineOf: (offset: number) => number): DocumentReport {
  // The core schema's own tags, and "!" (a plain string); `!!binary` and friends would need a decision each.
  const allowedTags = new Set([...doc.schema.tags.map((t) => t.tag), '!'])
  const problems: NodeProblem[] = []
  const anchorSizes = new Map<string, number>()
  let aliases = 0
  let expanded = 0
  let convertible = true

  const report = (node: Node | null | undefined, path: PropertyKey[], message: string) => problems.push({ offset: startOf(node), path, message })
  const stop = (node: Node | null | undefined, path: PropertyKey[], message: string) => {
    report(node, path, message)
    convertible = false
    return 0
  }

  /** Checks node and what is under it; returns its size in values with aliases expanded. */
  function visit(node: unknown, path: PropertyKey[]): number {
    if (!convertible || node === null || node === undefined) return 0
    if (isAlias(node)) return alias(node, path)
    const n = node as Node
    if (path.length > MAX_DEPTH) return stop(n, path, `nested more than ${MAX_DEPTH} levels deep; a deployment file needs 3`)
    if (n.tag !== undefined && !allowedTags.has(n.tag)) report(n, path, `YAML tag ${tagName(n.tag)} is not supported (forrest reads plain YAML, without CloudFormation or custom tags); write the value itself`)
    let size = 1
    if (isMap(n)) size += mapping(n, path)
    else if (isSeq(n)) n.items.forEach((item, i) => (size += visit(item, [...path, i])))
    else if (isScalar(n)) scalar(n, path)
    if (n.anchor) anchorSizes.set(n.anchor, size) // a later anchor of the same name replaces it, as in YAML
    return size
  }

  function alias(node: Alias, path: PropertyKey[]): number {
    const size = anchorSizes.get(node.source)
    if (size === undefined) return stop(node, path, `alias *${node.source} refers to no anchor (&${node.source}) defined before it`)
    if (++aliases > MAX_ALIASES) return stop(node, path, `more than ${MAX_ALIASES} aliases (*name); a deployment file needs a few`)
    expanded += size
    if (expanded > MAX_EXPANDED) return stop(node, path, `aliases expand this file to more than ${MAX_EXPANDED} values (an alias bomb?); forrest stops here`)
    return size
  }

  function mapping(node: YAMLMap, path: PropertyKey[]): number {
    const firstAt = new Map<string, number>()
    let size = 0
    for (const { key, value } of node.items) {
      // Not followed, and converted to a string of whatever it expands to: refuse before converting.
      if (!isScalar(key)) return stop((key as Node | null) ?? (value as Node | null), path, 'a key must be a plain string, not a list, mapping or alias')
      const name = String(key.value)
      const keyPath = [...path, name]
      const first = firstAt.get(name)
      if (first === undefined) firstAt.set(name, startOf(key))
      else report(key, keyPath, `key '${name}' appears twice in this mapping (first on line ${lineOf(first)}); remove one (YAML would silently keep the last)`)
      if (isStringified(keyPath)) scalar(key, keyPath, true)
      size += visit(value, keyPath)
    }
    return size
  }

  /** A plain scalar YAML read as something other than what is written: quote it where it becomes text, else write the number plainly. */
  function scalar(node: Scalar, path: PropertyKey[], isKey = false) {
    const { value, source } = node
    if (node.type !== 'PLAIN' || source === undefined || typeof value === 'string' || value === null) return
    if (isKey || isStringified(path)) {
      if (source !== String(value)) report(node, path, `YAML reads ${isKey ? 'the key ' : ''}${source} as ${describe(value)}, which becomes "${String(value)}"; quote it: "${source}"`)
    } else if (typeof value === 'number' && Number.isInteger(value) && !PLAIN_INTEGER.test(source)) {
      report(node, path, `YAML reads ${source} as the number ${value}; write ${value}`)
    }
  }

  visit(doc.contents, [])
  return { problems, convertible }
}
