/**
 * A TLS-terminating TCP proxy for tests: serves TLS with a given certificate on 127.0.0.1 and
 * pipes the plaintext to a port on 127.0.0.1 (Swift's proxy server). It records what only the
 * server side of a TLS connection sees: the SNI name and client certificate of each handshake,
 * and the request line and headers of each HTTP/1.1 request (bodies are skipped by
 * Content-Length), so tests can check what went over the wire.
 */
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';

export interface TlsProxyOptions {
  /** PEM files of the server certificate and key. */
  cert: string;
  key: string;
  /** Ask clients for a certificate signed by this CA (PEM file). */
  clientCa?: string;
  /** With clientCa: refuse handshakes without a valid client certificate. */
  requireClientCert?: boolean;
  targetPort: number;
}

export interface Handshake {
  /** The SNI name the client sent (false: none, as for an IP address). */
  servername: string | false;
  /** CN of the client certificate, when one was presented and verified. */
  clientCn: string | undefined;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  target: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
}

export interface TlsProxy {
  readonly port: number;
  readonly handshakes: Handshake[];
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Parses request heads out of one connection's client-to-server bytes. */
class RequestRecorder {
  #head = Buffer.alloc(0);
  #bodyLeft = 0;
  #lost = false;
  readonly #out: RecordedRequest[];

  constructor(out: RecordedRequest[]) {
    this.#out = out;
  }

  push(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0 && !this.#lost) {
      if (this.#bodyLeft > 0) {
        const n = Math.min(this.#bodyLeft, data.length);
        this.#bodyLeft -= n;
        data = data.subarray(n);
        continue;
      }
      this.#head = Buffer.concat([this.#head, data]);
      const end = this.#head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.#head.length > 64 * 1024) this.#lost = true;
        return;
      }
      const [line = '', ...lines] = this.#head.subarray(0, end).toString('latin1').split('\r\n');
      data = this.#head.subarray(end + 4);
      this.#head = Buffer.alloc(0);
      const [method = '', target = ''] = line.split(' ');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      this.#out.push({ method, target, headers });
      // Chunked bodies are not followed: later requests on this connection go unrecorded.
      if (headers['transfer-encoding'] !== undefined) this.#lost = true;
      this.#bodyLeft = Number(headers['content-length'] ?? '0') || 0;
    }
  }
}

export async function startTlsProxy(opts: TlsProxyOptions): Promise<TlsProxy> {
  const [cert, key, ca] = await Promise.all([
    readFile(opts.cert),
    readFile(opts.key),
    opts.clientCa !== undefined ? readFile(opts.clientCa) : Promise.resolve(undefined),
  ]);
  const handshakes: Handshake[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({
    cert,
    key,
    ...(ca !== undefined
      ? { ca, requestCert: true, rejectUnauthorized: opts.requireClientCert ?? false }
      : {}),
  });
  server.on('secureConnection', (tls: TLSSocket) => {
    const peer = tls.getPeerCertificate();
    const subjectCn: string | string[] | undefined = tls.authorized ? peer.subject?.CN : undefined;
    const cn = Array.isArray(subjectCn) ? subjectCn[0] : subjectCn;
    handshakes.push({ servername: tls.servername ?? false, clientCn: cn });
    const upstream = connect({ host: '127.0.0.1', port: opts.targetPort });
    sockets.add(tls);
    sockets.add(upstream);
    const recorder = new RequestRecorder(requests);
    tls.on('data', (chunk: Buffer) => recorder.push(chunk));
    tls.pipe(upstream);
    upstream.pipe(tls);
    const done = (): void => {
      tls.destroy();
      upstream.destroy();
      sockets.delete(tls);
      sockets.delete(upstream);
    };
    tls.on('error', done);
    tls.on('close', done);
    upstream.on('error', done);
    upstream.on('close', done);
  });
  // Failed handshakes (the tests provoke them) surface here; nothing to do.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tls proxy: no port');
  return {
    port: address.port,
    handshakes,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
