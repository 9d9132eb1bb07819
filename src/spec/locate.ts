/**
 * Map a path in the parsed data (as zod reports it) back to a line and column in the YAML
 * source. When the node is missing (a required key left out), point at the nearest parent that
 * exists: its key if it has one, else the start of the document.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair, type YAMLMap } from 'yaml'

export interface Position {
  line: number
  col: number
}

const startOf = (node: { range?: [number, number, number] | null } | null | undefined): number | undefined =>
  node?.range ? node.range[0] : undefined

/** `key:` with nothing after it: yaml gives an empty null scalar (or no node at all). */
function isEmptyScalar(node: unknown): boolean {
  if (!isScalar(node)) return startOf(node as Node) === undefined
  return node.value === null && (!node.range || node.range[0] === node.range[1])
}

// Each mapping's pairs by key, built once: a file with thousands of problems is located in linear
// time. The last pair wins, as in the data YAML produces from a key written twice.
const pairIndexes = new WeakMap<YAMLMap, Map<string, Pair>>()

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  let index = pairIndexes.get(map)
  if (!index) {
    index = new Map()
    for (const pair of map.items) if (isScalar(pair.key)) index.set(String(pair.key.value), pair)
    pairIndexes.set(map, index)
  }
  return index.get(key)
}

/** Offset of the node at `path` (or of its key, with `at: 'key'`), falling back to the nearest parent. */
export function locateOffset(doc: Document, path: ReadonlyArray<PropertyKey>, at: 'key' | 'value' = 'value'): number {
  let node: unknown = doc.contents
  let fallback = startOf(doc.contents as Node | null) ?? 0
  for (const [i, segment] of path.entries()) {
    const last = i === path.length - 1
    if (isMap(node)) {
      const pair = pairOf(node, String(segment))
      if (!pair) return fallback
      const keyOffset = startOf(pair.key as Node) ?? fallback
      if (last && at === 'key') return keyOffset
      fallback = keyOffset
      node = pair.value
      // Nothing written after `key:`: the key is the best place to point at.
      if (node === null || isEmptyScalar(node)) return keyOffset
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      node = node.items[segment]
      if (last) return startOf(node as Node) ?? fallback
    } else {
      return fallback
    }
  }
  return startOf(node as Node) ?? fallback
}

export function locate(doc: Document, lineCounter: LineCounter, path: ReadonlyArray<PropertyKey>, at: 'key' | 'value' = 'value'): Position {
  return lineCounter.linePos(locateOffset(doc, path, at))
}
