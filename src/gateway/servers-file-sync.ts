import createDebug from 'debug'
import { OP_RUNNING, type HaproxyServer } from './haproxy-runtime.js'
import { renderServerLines, writeServersFile } from './servers-file.js'
import { validateEntry } from './sync.js'
import type { Emit } from './types.js'

const debug = createDebug('forrest:gateway')

/** Keeps the live servers in the servers file's block (see servers-file.ts), writing only on change. */
export class ServersFileSync {
  /** The last write's error ('' when it succeeded): the pass's error while it lasts. */
  error = ''

  constructor(
    private readonly file: string,
    private readonly backend: string,
    private readonly checkParams: string,
    private readonly liveWeight: number,
    private readonly emit: Emit,
  ) {}

  /**
   * Desired servers that HAProxy has live (checked UP, weight, no maint/drain) go in the file;
   * withdrawn ones leave it in the same pass, before the ack, so a reload after the deploy has
   * stopped a container never brings that container back. false (no ack) if the write failed.
   */
  async sync(desired: ReadonlyMap<string, string>, actual: readonly HaproxyServer[]): Promise<boolean> {
    const live = new Map<string, string>()
    const weights = new Map<string, number>()
    for (const s of actual) {
      const want = desired.get(s.name)
      if (want === s.address && !validateEntry(s.name, want) && s.weight > 0 && s.opState === OP_RUNNING && s.adminState === 0) (live.set(s.name, s.address), weights.set(s.name, s.weight))
    }
    // Each at the weight HAProxy has for it (a canary's 53 stays 53 across a reload, not liveWeight).
    const lines = renderServerLines(live, this.checkParams, weights, this.liveWeight)
    // Read and compared on every pass (an unchanged block writes nothing): another gateway sharing
    // the file may have written over this block from a stale read, and this pass puts it back.
    try {
      if (await writeServersFile(this.file, lines, this.backend)) debug('servers file: %d live servers', live.size)
      this.error = ''
      return true
    } catch (err) {
      const message = `cannot update ${this.file}: ${err instanceof Error ? err.message : String(err)}`
      if (message !== this.error) this.emit({ type: 'warning', message })
      this.error = message
      return false
    }
  }
}
