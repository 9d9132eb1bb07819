import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../src/commands/index.js'
import { bashCompletion, completionModel, zshCompletion, type CommandLike } from '../../src/completion.js'

const model = completionModel(COMMANDS as unknown as Record<string, CommandLike>)
const bash = bashCompletion(model)
const zsh = zshCompletion(model)
/** What bash offers for `forrest <words…>` with the cursor at the end of the last word. */
function complete(...words: string[]): string[] {
  const line = ['forrest', ...words]
  const script = `${bash}\nCOMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _forrest; printf '%s\\n' "\${COMPREPLY[@]}"`
  return execFileSync('bash', ['-c', script], { cwd: 'test/fixtures', encoding: 'utf8' }).split('\n').filter(Boolean)
}

describe('shell completion, generated from the command registry', () => {
  it('knows every command and every flag', () => {
    expect(model.map((c) => c.id).sort()).toEqual(Object.keys(COMMANDS).sort())
    for (const [id, cmd] of Object.entries(COMMANDS)) {
      const flags = [...Object.keys(cmd.flags ?? {}), ...Object.keys(cmd.baseFlags ?? {})]
      // bash, by what it offers (not by the script's text): `forrest ID --<TAB>` lists every flag.
      // Nothing else: only --help and, for a command with `enableJsonFlag`, oclif's --json.
      const offered = complete(id, '--')
      expect(offered, id).toEqual(expect.arrayContaining(flags.map((f) => `--${f}`)))
      const json = (cmd as { enableJsonFlag?: boolean }).enableJsonFlag ? ['--json'] : []
      expect(offered.filter((f) => !flags.includes(f.slice(2)) && !['--help', ...json].includes(f)), id).toEqual([])
      for (const f of flags) expect(zsh, `${id} --${f}`).toContain(`--${f}`)
      expect(zsh).toMatch(new RegExp(`^    '${id}:`, 'm'))
      expect(zsh).toMatch(new RegExp(`^    ${id}\\)$`, 'm'))
    }
  })

  it('bash: commands, then flags, flag values and arguments', () => {
    execFileSync('bash', ['-n'], { input: bash })
    expect(complete('')).toEqual(expect.arrayContaining(Object.keys(COMMANDS)))
    expect(complete('de')).toEqual(['deploy'])
    expect(complete('logs', '--f')).toEqual(['--follow'])
    expect(complete('logs', '-')).toEqual(expect.arrayContaining(['--follow', '-f', '--tail', '-n', '--since', '--json', '--help']))
    expect(complete('completion', '')).toEqual(['bash', 'zsh'])
    expect(complete('deploy', 'sp')).toEqual(['specs']) // FILE: files
    expect(complete('deploy', '--svg', 'sp')).toEqual(['specs']) // --svg FILE: files
    expect(complete('logs', '--since', '')).toEqual([]) // a duration: nothing to offer
    expect(complete('status', '')).toEqual([])
  })

  it('zsh: the script parses and loads under compinit (zsh: scripts/dev-stack.sh installs it)', () => {
    execFileSync('zsh', ['-n'], { input: zsh })
    const out = execFileSync('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -D && eval "$(cat)" && print -r -- $_comps[forrest]`], { input: zsh, encoding: 'utf8' })
    expect(out.trim()).toBe('_forrest')
  })
})
