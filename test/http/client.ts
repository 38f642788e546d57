/**
 * One HTTP(S) request over a fresh connection (so certificate and client-auth changes are seen),
 * for the --http.config tests: basic auth, a CA to trust, a client certificate.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ClientOptions {
  readonly method?: string;
  readonly user?: string;
  readonly password?: string;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** PEM of the CA to trust (https). */
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface ClientResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export async function send(url: string, o: ClientOptions = {}): Promise<ClientResponse> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.user !== undefined) headers['authorization'] = basic(o.user, o.password ?? '');
  if (o.body !== undefined) headers['content-type'] ??= 'application/x-www-form-urlencoded';
  const tls = url.startsWith('https:');
  return new Promise((resolve, reject) => {
    const opts = {
      method: o.method ?? 'GET',
      headers,
      agent: false as const,
      timeout: 5000,
      ...(tls ? { ca: o.ca, cert: o.cert, key: o.key } : {}),
    };
    const req = (tls ? httpsRequest : httpRequest)(url, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** The status, or `error: <code or message>` when the request fails (refused handshake, reset). */
export async function status(url: string, o: ClientOptions = {}): Promise<number | string> {
  try {
    return (await send(url, o)).status;
  } catch (err) {
    const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
    return `error: ${code ?? (err instanceof Error ? err.message : String(err))}`;
  }
}
