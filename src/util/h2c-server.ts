/**
 * An HTTP/2 cleartext server (gRPC without TLS, what Prometheus' and Thanos' gRPC clients speak
 * on loopback) for a Connect handler, with a close that lets open streams finish: GOAWAY to every
 * session, then sessions still open after the grace period are destroyed.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

export type H2cHandler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

export interface H2cServerOptions {
  readonly host: string;
  /** 0: a free port (see `port` on the result). */
  readonly port: number;
  /** How long close() lets sessions drain before destroying them. */
  readonly closeGraceMs: number;
}

export interface H2cServer {
  readonly host: string;
  readonly port: number;
  /** host:port as bound. */
  readonly address: string;
  /** Stops listening and waits for the sessions to end (idempotent). */
  close(): Promise<void>;
}

/** Listens; rejects with the listen error as Node gives it (callers name their flag). */
export async function listenH2c(handler: H2cHandler, o: H2cServerOptions): Promise<H2cServer> {
  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
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
