import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

describe('scripts/dev-stack.sh', () => {
  it('starts etcd with history compaction: without it, every deploy adds history nothing removes (#18)', () => {
    const script = readFileSync('scripts/dev-stack.sh', 'utf8')
    const start = script.slice(script.indexOf('setsid nohup etcd '))
    const command = start.slice(0, start.indexOf(' &\n')) // the etcd command with its continued lines
    expect(command).toMatch(/--data-dir/)
    expect(command).toMatch(/--auto-compaction-mode=revision --auto-compaction-retention=[1-9]\d*/)
  })
})
