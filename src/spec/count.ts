/** Resolve "N%" of replicas; surge rounds up, unavailable rounds down (as Kubernetes does). */
export function resolveCount(value: number | string, replicas: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return value
  const fraction = (Number(value.slice(0, -1)) * replicas) / 100
  return round === 'up' ? Math.ceil(fraction) : Math.floor(fraction)
}
