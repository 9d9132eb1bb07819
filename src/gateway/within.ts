/**
 * A hard deadline on one step of a gateway pass. etcd3's own call deadline does not always fire:
 * after an etcd member was SIGKILLed and started again, a range read through the client was seen
 * to hang for good (test/integration/etcd-security.test.ts), and with it every later pass, so the
 * gateway stopped acknowledging. Failing the step fails the pass (a warning); the next pass tries
 * again, on a member the client picks afresh. The hung call itself is left to settle on its own.
 */
export async function within<T>(ms: number, what: string, step: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms) // the step's deadline
  })
  try {
    return await Promise.race([step, deadline])
  } finally {
    clearTimeout(timer)
  }
}
