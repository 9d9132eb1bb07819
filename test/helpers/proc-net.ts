import { readdir, readFile, readlink } from 'node:fs/promises'

/**
 * Who talks to whom, read from /proc (Linux; no ss or lsof needed): the pids whose command line
 * contains every given part, and the remote TCP ports a process has established connections to.
 */
export async function pidsByCmdline(...parts: string[]): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmdline && parts.every((p) => cmdline.includes(p))) pids.push(Number(entry))
  }
  return pids
}

/** Remote ports of `pid`'s ESTABLISHED IPv4/IPv6 TCP connections. */
export async function establishedPeerPorts(pid: number): Promise<number[]> {
  const inodes = new Set<string>()
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
    const m = /^socket:\[(\d+)\]$/.exec(link)
    if (m) inodes.add(m[1]!)
  }
  const ports: number[] = []
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '')
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (cols.length < 10 || cols[3] !== '01' || !inodes.has(cols[9]!)) continue
      ports.push(parseInt(cols[2]!.split(':')[1]!, 16))
    }
  }
  return ports
}
