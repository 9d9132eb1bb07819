/** Sizes as Docker and Compose write them: "512m", "1g", "64k", "100b" (also "1.5g", "512mb", "512MiB"). */
export const BYTES_HINT = 'write a size with a unit, like "512m" or "1g" (b, k, m, g)'

const UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** Bytes, or undefined when the text is not a size with a unit. Pure. */
export function parseBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg])(?:i?b)?$/i.exec(text.trim())
  if (!m) return undefined
  const n = Math.floor(Number(m[1]) * (UNITS[m[2]!.toLowerCase()] as number))
  return n > 0 && Number.isSafeInteger(n) ? n : undefined
}
