/**
 * What one `forrest gateway` process serves: prefix → backend pairs. The single form
 * (`--prefix P --backend B`) is one route; `--route PREFIX=BACKEND` (repeated) is several, each
 * kept in step and acknowledged per prefix exactly as a gateway of its own would be (gateway.ts
 * runs once per route; gateway-acks.ts keys each ack by its prefix, so a deploy on any of these
 * prefixes counts this gateway). Pure.
 */
import { checkPrefixAgainstRoot, normalizePrefix } from '../config.js'
import { ForrestError } from '../errors.js'

export interface Route {
  prefix: string
  backend: string
}

/** HAProxy's proxy names: letters, digits, "-", "_", ".", ":". */
const BACKEND_NAME = /^[A-Za-z0-9_.:-]+$/

/** `--route` values as routes; every problem at once (exit 2): no "=", an empty side, a bad backend name, a prefix or backend given twice. */
export function parseRoutes(values: readonly string[], recordsRoot: string): Route[] {
  const problems: string[] = []
  const routes: Route[] = []
  for (const value of values) {
    const eq = value.lastIndexOf('=')
    const prefix = eq < 0 ? '' : normalizePrefix(value.slice(0, eq))
    const backend = eq < 0 ? '' : value.slice(eq + 1)
    if (eq < 0 || !prefix || !backend) {
      problems.push(`--route "${value}": expected PREFIX=BACKEND, e.g. --route apps/web/servers=web`)
      continue
    }
    if (!BACKEND_NAME.test(backend)) {
      problems.push(`--route "${value}": backend "${backend}" is not an HAProxy backend name (letters, digits, "-", "_", ".", ":")`)
      continue
    }
    try {
      checkPrefixAgainstRoot(prefix, recordsRoot, `--route "${value}": prefix`)
    } catch (err) {
      problems.push((err as Error).message)
      continue
    }
    const samePrefix = routes.find((r) => r.prefix === prefix)
    const sameBackend = routes.find((r) => r.backend === backend)
    // One prefix into two backends would add every instance twice; two prefixes into one backend would fight over its servers.
    if (samePrefix) problems.push(`--route "${value}": prefix ${prefix} is already routed to backend ${samePrefix.backend}; one backend per prefix`)
    else if (sameBackend) problems.push(`--route "${value}": backend ${backend} already serves prefix ${sameBackend.prefix}; one prefix per backend`)
    else routes.push({ prefix, backend })
  }
  if (problems.length > 0) {
    throw new ForrestError('BAD_INPUT', `bad --route; nothing was started:\n${problems.map((p) => `  ${p}`).join('\n')}`, {
      suggestion: 'Give each app its own prefix and backend: --route apps/web/servers=web --route apps/api/servers=api.',
    })
  }
  return routes
}
