import { createHmac } from 'node:crypto'

/**
 * OpenSSH known_hosts, the part forrest needs: does this file vouch for `key` (the raw public key
 * blob the server presented) at host[:port]? Plain and hashed (`|1|salt|hash`) host fields, the
 * `[host]:port` form for non-22 ports, comma-separated names; @revoked lines refuse.
 */
export function knownHostsAccepts(text: string, host: string, port: number, key: Buffer): boolean {
  const name = port === 22 ? host : `[${host}]:${port}`
  let accepted = false
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const fields = line.split(/\s+/)
    const marker = fields[0]!.startsWith('@') ? fields.shift() : undefined
    const [hosts, , b64] = fields
    if (!hosts || !b64 || !hosts.split(',').some((h) => matches(h, name))) continue
    if (!Buffer.from(b64, 'base64').equals(key)) continue
    if (marker === '@revoked') return false
    if (marker === undefined) accepted = true
  }
  return accepted
}

function matches(field: string, name: string): boolean {
  if (!field.startsWith('|1|')) return field === name
  const [, , salt, hash] = field.split('|')
  if (!salt || !hash) return false
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash
}
