/**
 * The HTTP server behind an endpoint, shaped by a web config file (src/util/web-config.ts): plain
 * HTTP or HTTPS (client certificates per client_auth_type), the configured response headers, and
 * basic auth on every route (the probes too, unless the operator exempts them).
 *
 * The file and the certificate files are polled; a change is applied to new connections and
 * requests without a restart (users, headers, certificates, versions, ciphers, allowed SANs). Only
 * switching TLS on or off and changing client_auth_type need a restart: said in a warning, and the
 * TLS settings stay as they were until then. A file that does not parse, or certificates that do
 * not load, are logged and the previous settings stay.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { stat } from 'node:fs/promises';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { Server } from 'node:net';
import { BasicAuthenticator } from './basic-auth.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';
import { loadServerTls, tlsFingerprint, warnIfWorldReadable, type ServerTlsMaterial } from './tls.js';
import { readWebConfig, type WebConfig, type WebTlsConfig } from './web-config.js';

export interface WebServerOptions {
  /** The parsed --http.config file (readWebConfig). */
  readonly config: WebConfig;
  /** Serve /-/healthy and /-/ready without credentials. */
  readonly unauthenticatedProbes?: boolean;
  /** How often the files are checked for changes. Default 5 s. */
  readonly reloadIntervalMs?: number;
  readonly logger?: Logger;
}

export interface WebServer {
  readonly server: Server;
  readonly tls: boolean;
  /** Stops the reload poller. */
  stop(): void;
}

const PROBES = new Set(['/-/healthy', '/-/ready']);

function contextOptions(t: WebTlsConfig, m: ServerTlsMaterial): SecureContextOptions {
  return {
    ...m,
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    honorCipherOrder: t.honorCipherOrder,
    ...(t.ciphers !== undefined ? { ciphers: t.ciphers } : {}),
    ...(t.ecdhCurve !== undefined ? { ecdhCurve: t.ecdhCurve } : {}),
  };
}

/** The SAN values of a certificate as Go lists them (DNS names, e-mails, IPs, URIs). */
function sanValues(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  const out: string[] = [];
  for (const part of subjectAltName.split(/, (?=(?:DNS|IP Address|email|URI|[A-Za-z ]+):)/)) {
    const m = /^(DNS|IP Address|email|URI):(.*)$/.exec(part);
    if (m === null) continue;
    const raw = m[2] ?? '';
    // Node quotes values holding separators as JSON strings.
    out.push(raw.startsWith('"') ? String(JSON.parse(raw)) : raw);
  }
  return out;
}

/** Client-auth policies Node's server options do not express: checked once the handshake is done. */
function refuseConnection(t: WebTlsConfig, socket: TLSSocket): string | undefined {
  const cert = socket.getPeerX509Certificate();
  if (t.clientAuth === 'RequireAnyClientCert' && cert === undefined) return 'no client certificate';
  if (t.clientAuth === 'VerifyClientCertIfGiven' && cert !== undefined && !socket.authorized) {
    return 'client certificate not verified';
  }
  if (t.clientAllowedSans !== undefined) {
    const allowed = t.clientAllowedSans;
    if (!sanValues(cert?.subjectAltName).some((v) => allowed.includes(v)))
      return 'client certificate SAN not allowed';
  }
  return undefined;
}

async function fingerprint(c: WebConfig): Promise<string> {
  const s = await stat(c.file).catch(() => undefined);
  const own = s ? `${s.mtimeMs}:${s.size}:${s.ino}` : 'missing';
  return c.tls ? `${own}|${await tlsFingerprint(c.tls.files)}` : own;
}

/**
 * Creates (does not listen) the server for `handler`. Rejects with TlsConfigError when the
 * certificate files named by the config cannot be used.
 */
export async function createWebServer(handler: RequestListener, o: WebServerOptions): Promise<WebServer> {
  let config = o.config;
  let auth = new BasicAuthenticator(config.users);
  const guarded: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(config.headers)) res.setHeader(k, v);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!auth.enabled || (o.unauthenticatedProbes === true && PROBES.has(path))) {
      handler(req, res);
      return;
    }
    const a = auth;
    void a.check(req.headers.authorization).then((ok) => {
      if (ok) {
        handler(req, res);
        return;
      }
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Basic' });
      res.end('Unauthorized\n');
    });
  };
  const startTls = config.tls;
  let since = await fingerprint(config);
  let tlsServer: HttpsServer | undefined;
  if (startTls !== undefined) {
    await warnIfWorldReadable(startTls.files.key, o.logger);
    const m = await loadServerTls(startTls.files);
    tlsServer = createHttpsServer(
      {
        ...contextOptions(startTls, m),
        requestCert: startTls.clientAuth !== 'NoClientCert',
        rejectUnauthorized: startTls.clientAuth === 'RequireAndVerifyClientCert',
      },
      guarded,
    );
    tlsServer.on('secureConnection', (socket: TLSSocket) => {
      const why = config.tls ? refuseConnection(config.tls, socket) : undefined;
      if (why !== undefined) {
        o.logger?.debug('HTTPS connection refused', { client: socket.remoteAddress, why });
        socket.destroy();
      }
    });
    tlsServer.on('tlsClientError', (err) => o.logger?.debug('HTTPS handshake refused', { err: err.message }));
  }

  const reload = async (): Promise<void> => {
    const now = await fingerprint(config);
    if (now === since) return;
    // Failed or not, the same files are not tried again: a half-written set changes once more.
    since = now;
    let next: WebConfig;
    // TLS settings follow the file only while TLS stays on with the same client_auth_type.
    let tlsFollows = false;
    try {
      next = await readWebConfig(config.file);
      tlsFollows = tlsServer !== undefined && next.tls?.clientAuth === startTls?.clientAuth;
      if (tlsServer && next.tls && tlsFollows) {
        tlsServer.setSecureContext(contextOptions(next.tls, await loadServerTls(next.tls.files)));
      }
    } catch (err) {
      o.logger?.warn('--http.config not reloaded; keeping the previous settings', { err: errorMessage(err) });
      return;
    }
    if (tlsServer ? !tlsFollows : next.tls !== undefined) {
      o.logger?.warn('--http.config: TLS switched on or off, or a new client_auth_type: restart to apply', {
        file: config.file,
      });
    }
    const { tls: nextTls, ...rest } = next;
    const tls = tlsFollows ? nextTls : config.tls;
    config = { ...rest, ...(tls ? { tls } : {}) };
    auth = new BasicAuthenticator(config.users);
    o.logger?.info('--http.config reloaded', { file: config.file });
  };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = (): void => {
    timer = setTimeout(() => {
      void reload().finally(() => {
        if (!stopped) tick();
      });
    }, o.reloadIntervalMs ?? 5000);
    timer.unref();
  };
  tick();
  return {
    server: tlsServer ?? createHttpServer(guarded),
    tls: tlsServer !== undefined,
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
