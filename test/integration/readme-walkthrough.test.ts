/**
 * README › A first tour, run as written: every line of the README's ```sh walkthrough block, in
 * order, through `sh -c` in a directory holding a copy of deployments/, with `forrest` on PATH as
 * this checkout's bin/run.js. A command must exit 0 and print what its `# → …` comment says, so
 * the test breaks when the README drifts from what forrest does.
 *
 * Private, so it disturbs nothing: its own etcd, HAProxy and gateway (test/helpers/lb-stack.ts),
 * the app renamed from myapp to a unique name (containers are named after the app on the shared
 * dockerd; the word myapp as an argument is replaced, not demo/myapp or deployments/myapp.yml), and
 * the README's 127.0.0.1:8080 replaced by the private HAProxy's address. Nothing else is changed.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testRun } from '../helpers/cli.js'
import { startLbStack, type LbStack } from '../helpers/lb-stack.js'

const run = testRun('tour')
const app = `tour${run.id.slice(-6)}`

/** The lines of the README's fenced blocks whose info string is `sh walkthrough`, in order. */
function walkthroughLines(readme: string): Array<{ command: string; expect?: string }> {
  const blocks = [...readme.matchAll(/^```sh walkthrough\n([\s\S]*?)^```$/gm)].map((m) => m[1]!)
  return blocks.flatMap((b) =>
    b
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'))
      .map((l) => {
        const [command, expected] = l.split(/\s+# → /)
        return { command: command!.trim(), ...(expected ? { expect: expected.trim() } : {}) }
      }),
  )
}

describe('README › A first tour, run line by line (private etcd, HAProxy, gateway; real Docker)', () => {
  let stack: LbStack
  const dir = mkdtempSync(join(tmpdir(), 'forrest-tour-'))
  const lines = walkthroughLines(readFileSync('README.md', 'utf8'))

  beforeAll(async () => {
    stack = await startLbStack(run)
    cpSync('deployments', join(dir, 'deployments'), { recursive: true })
    const file = join(dir, 'deployments/myapp.yml')
    const text = readFileSync(file, 'utf8')
    expect(text).toMatch(/^name: myapp$/m)
    writeFileSync(file, text.replace(/^name: myapp$/m, `name: ${app}`))
    mkdirSync(join(dir, 'bin'))
    writeFileSync(join(dir, 'bin/forrest'), `#!/bin/sh\nexec "${process.execPath}" "${resolve('bin/run.js')}" "$@"\n`)
    chmodSync(join(dir, 'bin/forrest'), 0o755)
  }, 60_000)

  afterAll(async () => {
    await stack?.stop()
    rmSync(dir, { recursive: true, force: true })
  }, 40_000)

  it('the README has a walk-through that deploys, serves, updates, scales and rolls back', () => {
    const commands = lines.map((l) => l.command.split(' ').slice(0, 2).join(' '))
    for (const c of ['forrest deploy', 'curl -s', 'forrest status', 'forrest scale', 'forrest rollback']) expect(commands).toContain(c)
  })

  it('every command exits 0 and prints what the README says', () => {
    const lb = stack.haproxy.url.replace('http://', '')
    const ours = (s: string) => s.replaceAll('127.0.0.1:8080', lb).replace(/(?<![\w/])myapp(?![\w:.])/g, app)
    const env = { ...stack.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` }
    for (const line of lines) {
      const command = ours(line.command)
      const res = spawnSync('/bin/sh', ['-c', command], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 })
      const out = `$ ${line.command}\n${res.stdout}${res.stderr}`
      expect(res.status, out).toBe(0)
      if (line.expect) expect(res.stdout, out).toContain(ours(line.expect))
    }
  }, 300_000)
})
