/**
 * "Did you mean": the known command closest to a mistyped one, by edit distance (a swap of two
 * neighbouring letters counts as one edit). Pure. Undefined when nothing is close enough to be
 * a typo rather than another word.
 */
export function closestCommand(typed: string, known: readonly string[]): string | undefined {
  const word = typed.toLowerCase()
  let best: { id: string; d: number } | undefined
  for (const id of known) {
    const d = editDistance(word, id)
    if (!best || d < best.d) best = { id, d }
  }
  if (!best) return undefined
  // A prefix ("dep" for deploy) is a typo too; otherwise at most a third of the letters wrong.
  if (best.id.startsWith(word) && word.length >= 2) return best.id
  return best.d <= Math.max(1, Math.floor(best.id.length / 3)) ? best.id : undefined
}

/** Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a substring). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}
