/**
 * Progress a user must see while forrest waits on something outside it (a lock another deploy
 * holds, an etcd that does not answer): one line on stderr, so --json output on stdout stays
 * clean and CI logs show why a job sits still. Tests and embedders can redirect the sink.
 */
export type NoticeSink = (line: string) => void

let sink: NoticeSink = (line) => process.stderr.write(`${line}\n`)
const lastByTopic = new Map<string, number>()

export function setNoticeSink(next: NoticeSink): NoticeSink {
  const prev = sink
  sink = next
  return prev
}

/** Prints `line`; with a topic, at most once per `everyMs` for that topic (parallel retries say it once). */
export function notice(line: string, throttle?: { topic: string; everyMs: number }): void {
  if (throttle) {
    const last = lastByTopic.get(throttle.topic) ?? 0
    if (Date.now() - last < throttle.everyMs) return
    lastByTopic.set(throttle.topic, Date.now())
  }
  sink(`[${new Date().toISOString().slice(11, 19)}] ${line}`)
}
