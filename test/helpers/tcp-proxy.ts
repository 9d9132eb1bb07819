import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

export interface TcpProxy {
  /** host:port to give the client under test instead of the target. */
  endpoint: string
  /** Resets every open connection and refuses new ones until resume(): a network partition. */
  cut(): void
  resume(): void
  close(): Promise<void>
}

/** A loopback TCP proxy to `target` (host:port) that a test can partition at will. */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))]
  const open = new Set<Socket>()
  let refusing = false

  const server = createServer((downstream) => {
    // Accept-then-reset rather than closing the listener: the port stays ours while cut.
    if (refusing) return void downstream.resetAndDestroy()
    const upstream = connect(port, host)
    const drop = () => {
      downstream.destroy()
      upstream.destroy()
      open.delete(downstream)
      open.delete(upstream)
    }
    for (const s of [downstream, upstream]) {
      open.add(s)
      s.on('error', drop).on('close', drop)
    }
    downstream.pipe(upstream).pipe(downstream)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const cut = () => {
    refusing = true
    // RST, not FIN: the client sees a broken connection, as with a partition or a crashed peer.
    for (const s of open) s.resetAndDestroy()
    open.clear()
  }
  return {
    endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut,
    resume: () => {
      refusing = false
    },
    close: async () => {
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
