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
      process.stderr.write(
        `\n${sig} again: exiting now; left: the lock (its etcd lease frees it within seconds) and possibly a container it started but did not register (no traffic). ` +
          'The next run says who held the lock and, once it is free, adopts that container if it is healthy and of the target revision, or removes it.\n',
      )
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
