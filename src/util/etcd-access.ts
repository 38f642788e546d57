/**
 * A start-up check of the etcd credentials: one read of each key the caller will use. Refused
 * credentials or permissions (ERR_ETCD_AUTH) and failed TLS handshakes (ERR_ETCD_TLS) end the
 * command with an error naming the endpoint, instead of an election or a ring retrying forever
 * (etcd3 reports a refused handshake only as "No connection established", like a member that is
 * down). An etcd that is merely unreachable is left to the caller's retries.
 */
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { EtcdAuthenticationFailedError } from 'etcd3';
import { StrataError, errorCode, errorMessage } from './errors.js';
import {
  checkEndpoints,
  createEtcdClient,
  isEtcdAuthError,
  redactEndpoint,
  type EtcdClientOptions,
  type EtcdTls,
} from './etcd-client.js';
import type { Logger } from './logger.js';
import { isSystemError } from './system-errors.js';

export interface EtcdAccessCheck {
  /** Keys or key prefixes the caller reads and writes; each is read once. */
  readonly keys: readonly string[];
  /** The flag group that configured the client (`--etcd`, `--sharding-ring.etcd`), for hints. */
  readonly flags: string;
  readonly logger: Logger;
}

/** The client's first calls, made once; throws ERR_ETCD_AUTH or ERR_ETCD_TLS. */
export async function checkEtcdAccess(opts: EtcdClientOptions, check: EtcdAccessCheck): Promise<void> {
  const hosts = checkEndpoints(opts.endpoints);
  const where = `etcd ${hosts.map(redactEndpoint).join(',')}`;
  const user = opts.auth?.username;
  const client = createEtcdClient(opts);
  try {
    for (const key of check.keys) {
      try {
        await client
          .getAll()
          .prefix(key)
          .limit(1)
          .options({ deadline: Date.now() + opts.callTimeoutMs })
          .keys();
      } catch (err) {
        if (err instanceof EtcdAuthenticationFailedError) {
          throw new StrataError(
            'ERR_ETCD_AUTH',
            `${where}: authentication failed for user "${user ?? ''}" (check ${check.flags}.username and ${check.flags}.password-file)`,
          );
        }
        if (isEtcdAuthError(err)) {
          throw new StrataError(
            'ERR_ETCD_AUTH',
            user === undefined
              ? `${where}: ${errorMessage(err)} reading ${key}: etcd has authentication on; give ${check.flags}.username and ${check.flags}.password-file`
              : `${where}: permission denied: user "${user}" may not read ${key} (grant its role the prefix)`,
          );
        }
        const tlsError = await firstTlsError(hosts, opts, check.flags);
        if (tlsError !== undefined) throw tlsError;
        check.logger.warn('etcd not reachable at start; going on (calls are retried)', {
          endpoints: hosts.map(redactEndpoint).join(','),
          err: errorMessage(err),
        });
        return;
      }
    }
  } finally {
    client.close();
  }
}

async function firstTlsError(
  hosts: readonly string[],
  opts: EtcdClientOptions,
  flags: string,
): Promise<StrataError | undefined> {
  const secure = opts.tls !== undefined || hosts.some((h) => h.startsWith('https://'));
  if (!secure) return undefined;
  const results = await Promise.all(
    hosts.map(async (h) => {
      const problem = await tlsProblem(h, opts.tls, opts.callTimeoutMs);
      if (problem === undefined) return undefined;
      const text = describeTlsProblem(problem, flags, opts.tls?.certChain !== undefined);
      return text === undefined
        ? undefined
        : new StrataError('ERR_ETCD_TLS', `etcd ${redactEndpoint(h)}: TLS handshake failed: ${text}`);
    }),
  );
  return results.find((e) => e !== undefined);
}

/**
 * A TLS connection as gRPC makes it (ALPN h2, the client's CA, certificate and key), kept open
 * until the server answers the HTTP/2 preface: under TLS 1.3 a refused client certificate only
 * shows up then. Resolves with the error, or undefined when the server answered.
 */
function tlsProblem(
  endpoint: string,
  tls: EtcdTls | undefined,
  timeoutMs: number,
): Promise<Error | undefined> {
  const url = new URL(endpoint.includes('://') ? endpoint : `https://${endpoint}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(url.port || 2379),
      ALPNProtocols: ['h2'],
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(tls !== undefined ? { ca: tls.rootCertificate } : {}),
      ...(tls?.certChain !== undefined ? { cert: tls.certChain } : {}),
      ...(tls?.privateKey !== undefined ? { key: tls.privateKey } : {}),
    });
    const done = (err: Error | undefined): void => {
      socket.destroy();
      resolve(err);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('secureConnect', () => {
      // Client preface and an empty SETTINGS frame.
      socket.write(
        Buffer.concat([
          Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
          Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
        ]),
      );
    });
    socket.once('data', () => done(undefined));
    socket.once('error', (err) => done(err));
    socket.once('close', () => done(undefined));
  });
}

/** Words for a handshake error; undefined for a network error (refused, reset, timed out). */
function describeTlsProblem(err: Error, flags: string, withCert: boolean): string | undefined {
  if (isSystemError(err)) return undefined;
  const code = errorCode(err) ?? '';
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST/.test(code)) {
    return 'the endpoint does not speak TLS (an http:// member?)';
  }
  if (code.startsWith('ERR_SSL_')) {
    const alert = code.slice('ERR_SSL_'.length).toLowerCase().replace(/_/g, ' ');
    if (!withCert) {
      return `etcd refused it (${alert}); it may require a client certificate: give ${flags}.tls-cert and ${flags}.tls-key`;
    }
    return `etcd refused it (${alert}); check ${flags}.tls-cert and ${flags}.tls-key (a client certificate signed by a CA etcd trusts)`;
  }
  // Certificate verification: Node's message, without its advice about Node flags.
  const reason = errorMessage(err).split(';')[0]!.trim();
  return `etcd's certificate is not trusted (${reason}); check ${flags}.tls-ca`;
}
