import { execFileSync } from 'node:child_process'

/** Builds the demo images if missing (idempotent) so integration tests never pull. */
export default function setup(): void {
  execFileSync('bash', ['scripts/build-images.sh'], { stdio: 'inherit' })
}
