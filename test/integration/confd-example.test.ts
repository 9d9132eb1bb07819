/**
 * examples/confd runs as shipped against the local stack: the toml's keys are forrest's default
 * prefix (what scripts/dev-stack.sh deploys under), and its check_cmd and reload_cmd, run as confd
 * runs them (`/bin/sh -c`, `{{.src}}` = the staged file), accept the template and start, then
 * reload, a real HAProxy on the template's own address.
 *
 * What this does NOT prove: confd itself is not in Debian, so nothing here runs it. The template
 * is rendered for an empty key set only, which is exact (its one action is a `{{- range}} … {{- end}}`
 * that then yields nothing, and the test checks there is no other); the `server` line inside the
 * range is not rendered by Go's text/template here, so it is checked by eye, not by this test.
 */
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/config.js'
import { pollUntil } from '../helpers/etcd.js'

const execFileP = promisify(execFile)
const DIR = 'examples/confd'
const toml = readFileSync(`${DIR}/conf.d/haproxy.toml`, 'utf8')
const template = readFileSync(`${DIR}/templates/haproxy.cfg.tmpl`, 'utf8')

/** A `key = "value"` (or `key = ["value"]`) line of the flat [template] table. */
function setting(key: string): string {
  const m = new RegExp(`^${key}\\s*=\\s*\\[?"((?:[^"\\\\]|\\\\.)*)"\\]?\\s*$`, 'm').exec(toml)
  expect(m, `${key} in conf.d/haproxy.toml`).not.toBeNull()
  return m![1]!
}

const dest = setting('dest')
const destDir = dest.slice(0, dest.lastIndexOf('/'))
const pidFile = `${destDir}/haproxy.pid`
const sh = (command: string) => spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8' })
const running = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
const pidNow = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0)

/** Only what this test wrote is removed afterwards (never a directory or file that was there before). */
const created: string[] = []
const createDir = (dir: string) => {
  if (existsSync(dir)) return
  mkdirSync(dir, { recursive: true })
  created.unshift(dir)
}
const createFile = (file: string, text: string) => {
  if (!created.includes(file)) expect(existsSync(file), `${file} exists already; this test does not overwrite it`).toBe(false)
  writeFileSync(file, text)
  if (!created.includes(file)) created.unshift(file)
}

describe('examples/confd as shipped (haproxy -c and a real HAProxy started and reloaded by its reload_cmd)', () => {
  afterAll(async () => {
    if (!created.includes(destDir)) return
    const pid = pidNow()
    if (pid && running(pid)) {
      process.kill(pid, 'SIGTERM')
      await pollUntil(() => !running(pid), { timeoutMs: 5000, what: `HAProxy ${pid} to exit` })
    }
    // What the HAProxy this test started left in the directory the test made.
    for (const f of [pidFile, `${destDir}/admin.sock`]) rmSync(f, { force: true })
    // Files first (newest first), then the directory, which rmdir removes only when empty.
    for (const path of created) (path === destDir ? rmdirSync : rmSync)(path)
  })

  it("watches forrest's default prefix, which the local stack deploys under", () => {
    const prefix = resolveConfig({}, {}).prefix
    expect(setting('keys')).toBe(`/${prefix}`)
    expect(template).toContain(`{{- range gets "/${prefix}/*"}}`)
    expect(setting('src')).toBe('haproxy.cfg.tmpl')
    expect(existsSync(`${DIR}/templates/${setting('src')}`)).toBe(true)
  })

  it('check_cmd accepts the template rendered with no keys, and reload_cmd starts, then reloads, HAProxy', async () => {
    // Fail rather than touch an HAProxy someone else started from this example.
    expect(pidNow() && running(pidNow()), `an HAProxy from ${pidFile} is already running`).toBeFalsy()
    const actions = template.match(/\{\{[^}]*\}\}/g) ?? []
    expect(actions).toEqual(['{{- range gets "/app/servers/*"}}', '{{base .Key}}', '{{.Value}}', '{{- end}}'])
    // With no keys the range yields nothing, and its "{{-" trims the newline before it.
    const empty = template.replace(/\n\{\{- range [^}]*\}\}[\s\S]*?\{\{- end\}\}/, '')
    expect(empty).not.toContain('{{')
    // Its own directory, as the toml's header says (mkdir -p); the test refuses to use one it did not make.
    expect(destDir.startsWith('/tmp/'), `dest ${dest} is under /tmp, where the example keeps its files`).toBe(true)
    createDir(destDir)
    expect(created, `${destDir} existed before the test`).toContain(destDir)
    const staged = `${destDir}/.haproxy.cfg.staged`
    createFile(staged, empty)
    const check = sh(setting('check_cmd').replace('{{.src}}', staged))
    expect(check.status, check.stdout + check.stderr).toBe(0)

    createFile(dest, empty)
    const bind = /^\s*bind (\S+)$/m.exec(empty)![1]!
    const start = sh(setting('reload_cmd'))
    expect(start.status, start.stderr).toBe(0)
    const first = pidNow()
    expect(running(first)).toBe(true)
    // An empty backend: HAProxy itself answers, 503.
    const status = async () => (await fetch(`http://${bind}/`, { signal: AbortSignal.timeout(1000) })).status
    await pollUntil(async () => (await status()) === 503, { timeoutMs: 5000, what: `HAProxy on ${bind}` })

    const reload = sh(setting('reload_cmd'))
    expect(reload.status, reload.stderr).toBe(0)
    const second = pidNow()
    expect(second).not.toBe(first)
    await pollUntil(() => !running(first), { timeoutMs: 5000, what: `the old HAProxy ${first} to finish after -sf` })
    expect(await status()).toBe(503)
    expect((await execFileP('haproxy', ['-v'])).stdout).toContain('HAProxy version')
  })
})
