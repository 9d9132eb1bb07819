import { Command, Errors, Flags, type Interfaces } from '@oclif/core'
import createDebug from 'debug'
import { resolveConfig, type ConfigFlags, type ForrestConfig } from './config.js'
import { formatError, ForrestError, isDesignedOutcome, toForrestError } from './errors.js'
import { etcdRefusal } from './registry/etcd-refusal.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

/**
 * Every forrest command extends this. It is the one place where errors become output and exit
 * codes: commands throw ForrestError and never call process.exit themselves.
 */
export abstract class BaseCommand extends Command {
  static enableJsonFlag = true

  static baseFlags = {
    debug: Flags.boolean({ description: 'Print debug logs and stack traces (same as DEBUG=forrest*).', helpGroup: 'GLOBAL' }),
    etcd: Flags.string({ description: 'etcd endpoints, host:port[,host:port] [env: ETCD_HOST, default 127.0.0.1:2379]', helpGroup: 'GLOBAL' }),
    prefix: Flags.string({ description: 'etcd prefix for instance keys [env: ETCD_PREFIX, default app/servers]', helpGroup: 'GLOBAL' }),
    ip: Flags.string({ description: 'Address to announce [env: FORREST_IP, default: detected]', helpGroup: 'GLOBAL' }),
    'etcd-cacert': Flags.string({ description: 'CA bundle that signed the etcd servers\' certificates (https endpoints) [env: ETCDCTL_CACERT]', helpGroup: 'ETCD', helpValue: 'FILE' }),
    'etcd-cert': Flags.string({ description: 'Client certificate for etcd (mutual TLS) [env: ETCDCTL_CERT]', helpGroup: 'ETCD', helpValue: 'FILE' }),
    'etcd-key': Flags.string({ description: 'Client key for etcd (mutual TLS) [env: ETCDCTL_KEY]', helpGroup: 'ETCD', helpValue: 'FILE' }),
    'etcd-user': Flags.string({ description: 'etcd user (authentication on) [env: ETCDCTL_USER, "user" or "user:password"]', helpGroup: 'ETCD' }),
    'etcd-password-file': Flags.string({ description: 'File holding the etcd user\'s password [env: FORREST_ETCD_PASSWORD_FILE; or ETCDCTL_PASSWORD]', helpGroup: 'ETCD', helpValue: 'FILE' }),
  }

  private debugEnabled = false
  /** The resolved config, to name a TLS problem behind "etcd did not answer" whatever the command. */
  private resolvedConfig?: ForrestConfig

  protected forrestConfig(flags: ConfigFlags & { debug?: boolean }): ForrestConfig {
    if (flags.debug) {
      this.debugEnabled = true
      createDebug.enable(process.env.DEBUG ? `${process.env.DEBUG},forrest*` : 'forrest*')
    }
    return (this.resolvedConfig = resolveConfig(process.env, flags))
  }

  /**
   * gRPC reports a TLS failure (a wrong etcd CA, a refused client certificate) and an endpoint
   * that is some other HTTP server as "no connection": every command's ETCD_UNREACHABLE is
   * checked here for the certificate problem, then for what answered instead of etcd.
   */
  private async explained(fe: ForrestError): Promise<ForrestError> {
    if (fe.code !== 'ETCD_UNREACHABLE' || !this.resolvedConfig) return fe
    const { diagnoseTls, diagnoseNotEtcd } = await import('./registry/etcd-diagnose.js')
    const { etcdHosts, etcdSecurity } = this.resolvedConfig
    return (await diagnoseTls(etcdHosts, etcdSecurity).catch(() => undefined)) ?? (await diagnoseNotEtcd(etcdHosts, etcdSecurity).catch(() => undefined)) ?? fe
  }

  protected async catch(err: Error & { exitCode?: number }): Promise<never> {
    if (err instanceof Errors.ExitError) throw err
    // oclif's own parse errors (unknown flag, missing arg) are bad input too.
    const fe = await this.explained(
      err instanceof Errors.CLIError && !(err instanceof ForrestError)
        ? new ForrestError('BAD_INPUT', err.message.replace(/^Error: /, ''), { suggestion: `See: forrest ${(this.id ?? '').replaceAll(':', ' ')} --help` })
        : // A typed error already names its cause (a file's "permission denied" is not etcd's).
          toForrestError(err instanceof ForrestError ? err : (etcdRefusal(err) ?? err)),
    )
    if (this.jsonEnabled() && isDesignedOutcome(fe)) {
      // Not a failure: the result as on success, with the exit code and what to run next.
      this.logJson({ ok: true, ...(fe.detail as object), exit: fe.exit, message: fe.message })
    } else if (this.jsonEnabled()) {
      this.logJson({ ok: false, error: { code: fe.code, exit: fe.exit, message: fe.message, suggestion: fe.suggestion, detail: fe.detail } })
    } else {
      process.stderr.write(`${formatError(fe)}\n`)
    }
    if (this.debugEnabled || /forrest/.test(process.env.DEBUG ?? '')) {
      process.stderr.write(`${(fe.cause as Error | undefined)?.stack ?? fe.stack}\n`)
    }
    this.exit(fe.exit)
  }
}
