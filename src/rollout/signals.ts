import createDebug from 'debug'

const debug = createDebug('forrest:signals')

/**
 * Ctrl-C or SIGTERM mid-rollout: abort the signal so the step in flight finishes or undoes
 * itself and the lock is released; a second signal exits at once.
 */
export async function withInterrupts<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`\n${sig} again: exiting now; the next run converges from whatever state is left.\n`)
      process.exit(130)
    }
    process.stderr.write(`\n${sig}: finishing or undoing the step in flight, then releasing the lock (again to force)...\n`)
    debug('abort on %s', sig)
    controller.abort(new Error(sig))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await fn(controller.signal)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
