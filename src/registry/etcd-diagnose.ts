import { readFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { connect, type TLSSocket } from 'node:tls'
import { etcdUrls, type EtcdSecurity } from '../config.js'
import { ForrestError } from '../errors.js'
import { notEtcdError } from './etcd-errors.js'

/**
 * gRPC reports every TLS failure as "No connection established". When etcd does not answer,
 * one plain TLS handshake per endpoint tells why, so the error names the real cause: an
 * unknown certificate authority, a client certificate the server refuses, a server that
 * speaks TLS to a client that does not (or the reverse). Undefined when TLS is not the problem.
 */
export async function diagnoseTls(hosts: string[], sec: EtcdSecurity): Promise<ForrestError | undefined> {
  for (const url of etcdUrls(hosts, sec)) {
    const { protocol, hostname, port } = new URL(url)
    const problem = await handshake(hostname, Number(port), sec, protocol === 'https:')
    if (problem) return problem
  }
  return undefined
}

function handshake(host: string, port: number, sec: EtcdSecurity, wantTls: boolean): Promise<ForrestError | undefined> {
  const read = (f?: string) => (f ? readFileSync(f) : undefined)
  return new Promise((resolve) => {
    let socket: TLSSocket
    const done = (e: ForrestError | undefined) => {
      socket?.destroy()
      resolve(e)
    }
    try {
      socket = connect({ host, port, ca: read(sec.caFile), cert: read(sec.certFile), key: read(sec.keyFile), ALPNProtocols: ['h2'], timeout: 2000, rejectUnauthorized: wantTls })
    } catch {
      return resolve(undefined)
    }
    socket.on('secureConnect', () => {
      if (!wantTls) return done(tlsError(`etcd at ${host}:${port} speaks TLS, but the endpoint is http://`, 'Use https:// endpoints and set ETCDCTL_CACERT (and ETCDCTL_CERT/ETCDCTL_KEY if etcd requires client certificates).'))
      // TLS 1.3: the server judges the client certificate after the handshake; give it a moment to say no.
      socket.setTimeout(300, () => done(undefined)) // deadline for the server's verdict on the client certificate
    })
    socket.on('timeout', () => done(undefined))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? ''
      if (/ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT|ENOTFOUND/.test(code)) return done(undefined) // not a TLS problem
      if (!wantTls) return done(undefined)
      if (/UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|DEPTH_ZERO/.test(code)) {
        return done(tlsError(`etcd at ${host}:${port} presented a certificate from an unknown authority (${err.message})`, 'Set ETCDCTL_CACERT (or --etcd-cacert) to the CA bundle that signed the etcd servers\' certificates.'))
      }
      if (/ERR_TLS_CERT_ALTNAME_INVALID/.test(code)) {
        return done(tlsError(`etcd at ${host}:${port} presented a certificate for another name (${err.message})`, 'Use the host name or IP address the etcd server certificate was issued for.'))
      }
      if (/CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE|ALERT/i.test(`${code} ${err.message}`)) {
        return done(tlsError(`etcd at ${host}:${port} refused forrest's client certificate (${err.message})`, 'Set ETCDCTL_CERT and ETCDCTL_KEY (or --etcd-cert/--etcd-key) to a client certificate signed by a CA etcd trusts (--trusted-ca-file).'))
      }
      if (/WRONG_VERSION_NUMBER|EPROTO/.test(`${code} ${err.message}`)) {
        return done(tlsError(`etcd at ${host}:${port} does not speak TLS (${err.message})`, 'Use an http:// endpoint, or enable TLS on etcd.'))
      }
      done(tlsError(`TLS to etcd at ${host}:${port} failed: ${err.message}`, 'Check the etcd CA, client certificate and key (ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY).'))
    })
  })
}

const tlsError = (message: string, suggestion: string) => new ForrestError('ETCD_TLS_FAILED', message, { suggestion })

/**
 * An endpoint that refuses HTTP/2 (gRPC) but answers HTTP/1 is some other web server, and gRPC
 * only says "No connection established". One GET /version per plain http:// endpoint names what
 * answered instead. etcd answers it too (with "etcdserver"), so a real etcd is never blamed.
 */
export async function diagnoseNotEtcd(hosts: string[], sec: EtcdSecurity): Promise<ForrestError | undefined> {
  for (const url of etcdUrls(hosts, sec)) {
    const { protocol, hostname, port } = new URL(url)
    if (protocol !== 'http:') continue
    const answer = await firstBytes(hostname, Number(port))
    if (!answer || !/^HTTP\/\d/.test(answer) || /etcdserver|etcdcluster/.test(answer)) continue
    const statusLine = answer.split('\r\n')[0]!.trim()
    const server = /^server:\s*(.+)$/im.exec(answer)?.[1]?.trim()
    return notEtcdError(`${hostname}:${port}`, `it answered HTTP/1 "${statusLine}"${server ? ` (Server: ${server})` : ''}`)
  }
  return undefined
}

function firstBytes(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let got = ''
    const socket = createConnection({ host, port })
    const done = () => {
      socket.destroy()
      resolve(got || undefined)
    }
    socket.setTimeout(1000, done) // deadline for a server to answer one GET
    socket.on('connect', () => socket.write(`GET /version HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`))
    socket.on('data', (d) => {
      got += d.toString('latin1')
      if (got.length > 4096 || /\r\n\r\n[\s\S]{64,}/.test(got)) done()
    })
    socket.on('end', done)
    socket.on('error', done)
  })
}
