/**
 * An HTTP/2 server for a Connect handler: cleartext (h2c, what Prometheus' and Thanos' gRPC
 * clients speak without TLS flags) or TLS with ALPN h2 (optionally mutual TLS: a client without a
 * certificate from the client CA is refused in the handshake; the files are reloaded when they
 * change). close() lets open streams finish: GOAWAY to every session, then sessions still open
 * after the grace period are destroyed.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import {
  loadServerTls,
  tlsFingerprint,
  warnIfWorldReadable,
  watchServerTls,
  type ServerTlsFiles,
  type TlsReloader,
} from './tls.js';

export type H2cHandler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

export interface H2cServerOptions {
  readonly host: string;
  /** 0: a free port (see `port` on the result). */
  readonly port: number;
  /** How long close() lets sessions drain before destroying them. */
  readonly closeGraceMs: number;
  /** TLS (absent: h2c). */
  readonly tls?: ServerTlsFiles;
  /** How often the TLS files are checked for changes. Default 5 s. */
  readonly tlsReloadIntervalMs?: number;
  /** TLS warnings and reloads. */
  readonly logger?: Logger;
}

export interface H2cServer {
  readonly host: string;
  readonly port: number;
  /** host:port as bound. */
  readonly address: string;
  /** Stops listening and waits for the sessions to end (idempotent). */
  close(): Promise<void>;
}

async function createServer(
  handler: H2cHandler,
  o: H2cServerOptions,
): Promise<{ server: http2.Http2Server; reloader?: TlsReloader }> {
  if (o.tls === undefined) return { server: http2.createServer(handler) };
  const files = o.tls;
  await warnIfWorldReadable(files.key, o.logger);
  const since = await tlsFingerprint(files);
  const m = await loadServerTls(files);
  const mutual = m.ca !== undefined;
  const server = http2.createSecureServer(
    { ...m, ALPNProtocols: ['h2'], allowHTTP1: false, requestCert: mutual, rejectUnauthorized: mutual },
    handler,
  );
  // Refused handshakes (no or an untrusted client certificate, plaintext): debug, as clients retry.
  server.on('tlsClientError', (err, socket) => {
    o.logger?.debug('gRPC TLS handshake refused', {
      client: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
      err: err.message,
    });
  });
  const reloader = watchServerTls(
    files,
    since,
    o.tlsReloadIntervalMs ?? 5000,
    (next) => server.setSecureContext(next),
    o.logger,
  );
  return { server, reloader };
}

/**
 * Listens; rejects with the listen error as Node gives it (callers name their flag), or with a
 * TlsConfigError (ERR_TLS_CONFIG) naming the flag and file that cannot be used.
 */
export async function listenH2c(handler: H2cHandler, o: H2cServerOptions): Promise<H2cServer> {
  const { server, reloader } = await createServer(handler, o);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reloader?.stop();
      reject(err);
    };
    server.once('error', onError);
    server.listen(o.port, o.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    host: o.host,
    port,
    address: `${o.host}:${port}`,
    close(): Promise<void> {
      closing ??= (async () => {
        reloader?.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sessions) s.close();
        const timer = setTimeout(() => {
          for (const s of sessions) s.destroy();
        }, o.closeGraceMs);
        await closed;
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}
