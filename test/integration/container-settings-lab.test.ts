/**
 * Container settings on a remote engine (issue #26): the lab's h2 (over mutual TLS). A network missing
 * there is refused before anything changes, naming the host; once it exists, the app reaches a
 * database-like container by name on it, and a named volume on h2 keeps its data across a
 * rolling update. Needs scripts/lab/up.sh: fails, never skips, without it.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { forrest, testRun } from '../helpers/cli.js'
import { startEtcd, type TestEtcd } from '../helpers/etcd.js'
import { labEnvVars } from '../helpers/lab.js'
import { specFile } from '../helpers/spec-file.js'

const run = promisify(execFile)
const t = testRun('settings-lab')
const tag = t.id.slice(-6)
const app = `sl${tag}`
const network = `fs-lab-net-${tag}`
const volume = `fs-lab-vol-${tag}`

describe('container settings on a remote engine (lab h2, TLS)', () => {
  let lab: Record<string, string>
  let etcd: TestEtcd
  let env: NodeJS.ProcessEnv
  const onH2 = async (...args: string[]) => {
    const tls = ['--tlsverify', '--tlscacert', `${lab.FORREST_LAB_CERT_PATH}/ca.pem`, '--tlscert', `${lab.FORREST_LAB_CERT_PATH}/cert.pem`, '--tlskey', `${lab.FORREST_LAB_CERT_PATH}/key.pem`, '-H', lab.FORREST_LAB_H2_TLS!]
    const { stdout } = await run('docker', [...tls, ...args], { env: { ...process.env, DOCKER_CONFIG: lab.FORREST_LAB_DOCKER_CONFIG, DOCKER_HOST: '' } })
    return stdout.trim()
  }
  const running = async () => (await onH2('ps', '--filter', `label=${t.label}`, '--filter', `label=forrest.app=${app}`, '--format', '{{.Names}}')).split('\n').filter(Boolean)
  const spec = (imageTag: string) =>
    specFile(`${app}-${imageTag}-${Math.random().toString(36).slice(2, 6)}`, {
      name: app,
      image: `${lab.FORREST_LAB_REGISTRY}/demo/myapp:${imageTag}`,
      replicas: 1,
      env: {},
      labels: {},
      hosts: [{ name: 'h2', docker: lab.FORREST_LAB_H2_TLS, address: '10.213.0.12', tls: { certPath: lab.FORREST_LAB_CERT_PATH } }],
      'health.interval': '100ms',
      'health.deadline': '10s',
      'update.drain': '100ms',
      'update.stopGracePeriod': '1s',
      command: ['sh', '-c', 'echo start >> /vol/starts; exec httpd -f -p 8080 -h /www'],
      container: { networks: [network], volumes: [`${volume}:/vol`] },
    })

  beforeAll(async () => {
    lab = labEnvVars()
    etcd = await startEtcd()
    env = { ...t.env(etcd.endpoint), DOCKER_HOST: '', DOCKER_CONFIG: lab.FORREST_LAB_DOCKER_CONFIG! }
  }, 120_000)

  afterAll(async () => {
    const ids = await onH2('ps', '-aq', '--filter', `label=${t.label}`).catch(() => '')
    if (ids) await onH2('rm', '-f', ...ids.split('\n'))
    await onH2('network', 'rm', network).catch(() => undefined)
    await onH2('volume', 'rm', volume).catch(() => undefined)
    await etcd?.stop()
  }, 60_000)

  it('refuses before anything changes while the network is missing on h2, naming host and network (exit 2)', async () => {
    const res = await forrest(['deploy', spec('1')], env, 120_000)
    expect(res.code, res.stdout + res.stderr).toBe(EXIT.badInput)
    expect(res.stderr).toContain(`host h2: network ${network} does not exist`)
    expect(await running()).toEqual([])
  }, 120_000)

  it('with the network created on h2: reaches a db container by name there, and a named volume keeps its data across a rolling update', async () => {
    await onH2('network', 'create', '--label', t.label, network)
    await onH2('run', '-d', '--label', t.label, '--network', network, '--network-alias', 'db', `${lab.FORREST_LAB_REGISTRY}/demo/myapp:2`)
    const first = await forrest(['deploy', spec('1')], env, 120_000)
    expect(first.code, first.stdout + first.stderr).toBe(0)
    const [one] = await running()
    expect(await onH2('exec', one!, 'wget', '-qO-', 'http://db:8080/')).toBe('v2')
    await onH2('exec', one!, 'sh', '-c', 'echo kept > /vol/data')

    const second = await forrest(['deploy', spec('2')], env, 120_000)
    expect(second.code, second.stdout + second.stderr).toBe(0)
    const [two] = await running()
    expect(two).not.toBe(one)
    expect(await onH2('exec', two!, 'cat', '/vol/data')).toBe('kept')
    expect(await onH2('exec', two!, 'cat', '/vol/starts')).toBe('start\nstart')
  }, 180_000)
})
