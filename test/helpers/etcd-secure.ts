/**
 * A production-like etcd for tests: 3 members (Debian's etcd 3.4) on free loopback ports, TLS
 * on client and peer URLs from a private CA made here with openssl, client certificates
 * required, authentication on. Users (password = name + "-pw"):
 *   root     role root
 *   forrest  role forrest: readwrite /app/ and /forrest/ (what `forrest deploy` needs)
 *   gateway  role gateway: read /app/ and /forrest/apps/ and /forrest/checks/ and /forrest/weights/, readwrite
 *            /forrest/gateways/ (what `forrest gateway` needs)
 * Also a second CA ("rogue") whose certificates etcd does not trust.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, pollUntil } from './etcd.js'

const run = promisify(execFile)

export interface SecureEtcd {
  /** https://127.0.0.1:p1,https://...:p2,https://...:p3 */
  endpoints: string
  dir: string
  /** CA, client cert and key files (the etcdctl-style names). */
  files: { ca: string; cert: string; key: string; rogueCa: string; rogueCert: string; rogueKey: string }
  /** ETCDCTL_* environment for a user (forrest | gateway | root), for the forrest CLI. */
  env(user: 'forrest' | 'gateway' | 'root'): Record<string, string>
  /** Client port of member i (1..3). */
  port(i: number): number
  kill(i: number): Promise<void>
  start(i: number): Promise<void>
  /** etcdctl as root: e.g. ctl('get', '/', '--prefix'). */
  ctl(...args: string[]): Promise<string>
  stop(): Promise<void>
}

async function openssl(dir: string, ...args: string[]) {
  await run('openssl', args, { cwd: dir })
}

/** CA + leaf certificates (EC P-256: fast to make). */
async function makePki(dir: string) {
  const ca = async (name: string) => {
    await openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}-key.pem`)
    await openssl(dir, 'req', '-x509', '-new', '-key', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  }
  const leaf = async (name: string, caName: string, cn: string, eku: string, san?: string) => {
    await openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}-key.pem`)
    await openssl(dir, 'req', '-new', '-key', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`)
    await writeFile(join(dir, `${name}.ext`), [`extendedKeyUsage=${eku}`, 'keyUsage=critical,digitalSignature,keyEncipherment', ...(san ? [`subjectAltName=${san}`] : [])].join('\n'))
    await openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}-key.pem`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`)
  }
  await Promise.all([ca('ca'), ca('rogue-ca')])
  await Promise.all([
    leaf('server', 'ca', 'etcd', 'serverAuth,clientAuth', 'IP:127.0.0.1,DNS:localhost'),
    // CN is no etcd user: with --client-cert-auth a request without a token runs as the CN.
    leaf('client', 'ca', 'forrest-client', 'clientAuth'),
    leaf('rogue-client', 'rogue-ca', 'forrest-client', 'clientAuth'),
  ])
}

export async function startSecureEtcd(): Promise<SecureEtcd> {
  const dir = await mkdtemp(join(tmpdir(), 'forrest-etcd-tls-'))
  await makePki(dir)
  const f = (n: string) => join(dir, n)
  const files = { ca: f('ca.pem'), cert: f('client.pem'), key: f('client-key.pem'), rogueCa: f('rogue-ca.pem'), rogueCert: f('rogue-client.pem'), rogueKey: f('rogue-client-key.pem') }
  const ports = await Promise.all([1, 2, 3].map(async () => ({ client: await freePort(), peer: await freePort(), metrics: await freePort() })))
  const cluster = ports.map((p, i) => `m${i + 1}=https://127.0.0.1:${p.peer}`).join(',')
  const endpoints = ports.map((p) => `https://127.0.0.1:${p.client}`).join(',')
  const procs = new Map<number, ChildProcess>()
  const tls = ['--cert-file', f('server.pem'), '--key-file', f('server-key.pem'), '--trusted-ca-file', files.ca, '--client-cert-auth']
  const peerTls = ['--peer-cert-file', f('server.pem'), '--peer-key-file', f('server-key.pem'), '--peer-trusted-ca-file', files.ca, '--peer-client-cert-auth']

  const healthy = async (i: number) => {
    try {
      const res = await fetch(`http://127.0.0.1:${ports[i - 1]!.metrics}/health`, { signal: AbortSignal.timeout(500) })
      return res.ok && (await res.text()).includes('"health":"true"')
    } catch {
      return false
    }
  }
  const start = async (i: number, state: 'new' | 'existing') => {
    const p = ports[i - 1]!
    const proc = spawn(
      'etcd',
      [
        '--name', `m${i}`, '--data-dir', f(`m${i}`),
        '--listen-client-urls', `https://127.0.0.1:${p.client}`, '--advertise-client-urls', `https://127.0.0.1:${p.client}`,
        '--listen-peer-urls', `https://127.0.0.1:${p.peer}`, '--initial-advertise-peer-urls', `https://127.0.0.1:${p.peer}`,
        '--listen-metrics-urls', `http://127.0.0.1:${p.metrics}`,
        '--initial-cluster', cluster, '--initial-cluster-token', `t-${ports[0]!.peer}`, '--initial-cluster-state', state,
        ...tls, ...peerTls, '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', process.env.ETCD_DEBUG ? 'inherit' : 'ignore'] },
    )
    procs.set(i, proc)
  }
  const ctlAs = (user: string) => async (...args: string[]) => {
    const { stdout } = await run('etcdctl', [`--endpoints=${endpoints}`, `--cacert=${files.ca}`, `--cert=${files.cert}`, `--key=${files.key}`, ...(user ? [`--user=${user}`] : []), '--dial-timeout=3s', '--command-timeout=5s', ...args], { env: { ...process.env, ETCDCTL_API: '3' } })
    return stdout.trim()
  }
  const kill = async (i: number) => {
    const p = procs.get(i)
    if (!p || p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill('SIGKILL')
    await exited
  }

  await Promise.all([1, 2, 3].map((i) => start(i, 'new')))
  await pollUntil(async () => (await Promise.all([1, 2, 3].map(healthy))).every(Boolean), { timeoutMs: 30_000, what: 'secure etcd cluster healthy' })
  const noAuth = ctlAs('')
  await noAuth('user', 'add', 'root:root-pw', '--interactive=false')
  await noAuth('user', 'grant-role', 'root', 'root')
  await noAuth('role', 'add', 'forrest')
  await noAuth('role', 'grant-permission', 'forrest', '--prefix=true', 'readwrite', '/app/')
  await noAuth('role', 'grant-permission', 'forrest', '--prefix=true', 'readwrite', '/forrest/')
  await noAuth('user', 'add', 'forrest:forrest-pw', '--interactive=false')
  await noAuth('user', 'grant-role', 'forrest', 'forrest')
  await noAuth('role', 'add', 'gateway')
  for (const p of ['/app/', '/forrest/apps/', '/forrest/checks/', '/forrest/weights/']) await noAuth('role', 'grant-permission', 'gateway', '--prefix=true', 'read', p)
  await noAuth('role', 'grant-permission', 'gateway', '--prefix=true', 'readwrite', '/forrest/gateways/')
  await noAuth('user', 'add', 'gateway:gateway-pw', '--interactive=false')
  await noAuth('user', 'grant-role', 'gateway', 'gateway')
  await noAuth('auth', 'enable')

  return {
    endpoints,
    dir,
    files,
    env: (user) => ({ ETCD_HOST: endpoints, ETCDCTL_CACERT: files.ca, ETCDCTL_CERT: files.cert, ETCDCTL_KEY: files.key, ETCDCTL_USER: user, ETCDCTL_PASSWORD: `${user}-pw` }),
    port: (i) => ports[i - 1]!.client,
    kill,
    start: async (i) => {
      await start(i, 'existing')
      await pollUntil(() => healthy(i), { timeoutMs: 30_000, what: `etcd member ${i} back` })
    },
    ctl: ctlAs('root:root-pw'),
    stop: async () => {
      await Promise.all([1, 2, 3].map(kill))
      await rm(dir, { recursive: true, force: true })
    },
  }
}
