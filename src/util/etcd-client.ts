/**
 * The etcd3 client as the election (src/ha) and the ring (src/ring) use it: hosts as an array (a
 * comma-joined string is taken as one bad host), a deadline on every unary call (the first write
 * after etcd's raft leader dies otherwise waits about 7 s), and every failure turned into the
 * caller's "unavailable" code, except refused credentials or permissions: ERR_ETCD_AUTH (retrying
 * does not help).
 */
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdPermissionDeniedError,
  EtcdUserNotFoundError,
  GRPCUnauthenticatedError,
  type IOptions,
} from 'etcd3';
import { InvalidArgumentError, StrataError, errorCode, errorMessage, type ErrorCode } from './errors.js';

export interface EtcdAuth {
  username: string;
  password: string;
}

export interface EtcdTls {
  /** CA certificates (PEM) that sign etcd's certificate. */
  rootCertificate: Buffer;
  privateKey?: Buffer;
  certChain?: Buffer;
}

export interface EtcdClientOptions {
  /** `http://host:port` or `host:port`, one entry per member. */
  endpoints: readonly string[];
  /** Deadline of every unary call. */
  callTimeoutMs: number;
  auth?: EtcdAuth;
  tls?: EtcdTls;
}

export function createEtcdClient(opts: EtcdClientOptions): Etcd3 {
  const hosts = checkEndpoints(opts.endpoints);
  const deadline = (): { deadline: number } => ({ deadline: Date.now() + opts.callTimeoutMs });
  const options: IOptions = {
    hosts,
    // A backstop for calls made inside etcd3; our own calls pass an explicit deadline too.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : deadline()),
  };
  if (opts.auth !== undefined) {
    options.auth = { username: opts.auth.username, password: opts.auth.password, callOptions: deadline };
  }
  if (opts.tls !== undefined) options.credentials = { ...opts.tls };
  return new Etcd3(options);
}

/** Endpoints as given, validated; a single comma-joined entry is split. */
export function checkEndpoints(endpoints: readonly string[]): string[] {
  const hosts = endpoints.flatMap((e) => e.split(',')).map((e) => e.trim());
  if (hosts.length === 0 || hosts.some((h) => h === '')) {
    throw new InvalidArgumentError('etcd endpoints: need at least one non-empty endpoint');
  }
  return hosts;
}

/** An endpoint for logs: scheme, host and port only (never userinfo). */
export function redactEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '<unparseable endpoint>';
  }
}

/** etcd refused the credentials, or the user lacks a permission: a setup problem, not an outage. */
export function isEtcdAuthError(err: unknown): boolean {
  return (
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdPermissionDeniedError ||
    err instanceof EtcdUserNotFoundError ||
    err instanceof GRPCUnauthenticatedError
  );
}

/**
 * An ERR_ETCD_AUTH error from a call (whose message names the call) as the command reports it:
 * naming the endpoints too. Other errors are returned as they are.
 */
export function withEtcdEndpoints(err: unknown, endpoints: readonly string[]): unknown {
  if (errorCode(err) !== 'ERR_ETCD_AUTH') return err;
  const where = `etcd ${endpoints.map(redactEndpoint).join(',')}`;
  const message = errorMessage(err);
  return message.startsWith(`${where}:`)
    ? err
    : new StrataError('ERR_ETCD_AUTH', `${where}: ${message}`, { cause: err });
}

/**
 * Runs one etcd call with an absolute deadline, and a timer slightly past it as a backstop (in
 * case the client waits somewhere a gRPC deadline does not reach). Errors become a StrataError
 * with `code` (ERR_HA_UNAVAILABLE, ERR_RING_UNAVAILABLE...) naming `what`; refused credentials
 * or permissions get ERR_ETCD_AUTH instead.
 */
export async function etcdCall<T>(
  code: ErrorCode,
  what: string,
  timeoutMs: number,
  call: (options: { deadline: number }) => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const backstop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StrataError(code, `etcd ${what}: no answer in ${timeoutMs} ms`)),
      timeoutMs + 250,
    );
  });
  try {
    const pending = call({ deadline: Date.now() + timeoutMs });
    pending.catch(() => {}); // it may settle after the backstop fired
    return await Promise.race([pending, backstop]);
  } catch (err) {
    if (err instanceof StrataError) throw err;
    throw new StrataError(
      isEtcdAuthError(err) ? 'ERR_ETCD_AUTH' : code,
      `etcd ${what}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One lease keep-alive on its own stream (etcd3's own keep-alive loop cannot be given deadlines);
 * resolves with the TTL etcd reports, 0 when the lease is gone.
 */
export function keepAliveOnce(
  client: Etcd3,
  leaseId: string,
  code: ErrorCode,
  timeoutMs: number,
): Promise<number> {
  return etcdCall(code, 'lease keep-alive', timeoutMs, async (o) => {
    const stream = await client.leaseClient.leaseKeepAlive(o);
    return new Promise<number>((resolve, reject) => {
      stream.on('data', (res) => {
        resolve(Number(res.TTL));
        stream.end();
      });
      stream.on('error', reject);
      stream.on('end', () => reject(new Error('keep-alive stream ended without an answer')));
      stream.write({ ID: leaseId });
    });
  });
}
