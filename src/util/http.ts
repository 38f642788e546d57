/**
 * The operational HTTP endpoint every long-running command serves: `/metrics` (Prometheus text
 * from a prom-client Registry), `/-/healthy`, `/-/ready`, and `/api/v1/status` (JSON from a
 * callback). Listens on the given address; `port 0` picks a free port. With a web config file
 * (--http.config) it serves HTTPS and/or requires basic auth (src/util/web-server.ts).
 */
import { createServer, type RequestListener } from 'node:http';
import type { Server } from 'node:net';
import type { Registry } from 'prom-client';
import { InvalidArgumentError, errorMessage } from './errors.js';
import { listenError } from './system-errors.js';
import { createWebServer, type WebServerOptions } from './web-server.js';

export interface HttpEndpointOptions {
  address: string;
  registry: Registry;
  status: () => unknown;
  ready?: () => boolean;
  /** The flag that set `address`, named in listen errors (default `--http-address`). */
  flag?: string;
  /** TLS, basic auth and headers from --http.config (absent: plain HTTP, open). */
  web?: WebServerOptions;
}

/** A request to a mounted route: the body is read for POST (up to 64 KiB). */
export interface HttpRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  body?: string;
  /** The same body as bytes (binary protocols such as remote read). */
  rawBody?: Uint8Array;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** A binary body, sent instead of `body` (remote read). */
  bytes?: Uint8Array;
}

export type HttpHandler = (req: HttpRequest) => Promise<HttpResponse>;

export interface HttpEndpoint {
  /** `host:port` actually bound. */
  readonly address: string;
  /** Serves `path` (exact, query ignored) with `handler` from now on (e.g. a ring page). */
  mount(path: string, handler: HttpHandler): void;
  /** Serves every path under `prefix` (ending in '/') that no exact mount serves. */
  mountPrefix(prefix: string, handler: HttpHandler): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

async function readBody(req: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of req) {
    n += chunk.length;
    if (n > MAX_BODY_BYTES) throw new InvalidArgumentError(`request body over ${MAX_BODY_BYTES} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

export function parseListenAddress(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  if (i < 0) throw new InvalidArgumentError(`listen address "${addr}" must be host:port`);
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError(`bad port in "${addr}"`);
  return { host, port };
}

export async function startHttpEndpoint(o: HttpEndpointOptions): Promise<HttpEndpoint> {
  const flag = o.flag ?? '--http-address';
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseListenAddress(o.address));
  } catch (err) {
    throw new InvalidArgumentError(`${flag}: ${errorMessage(err)}`, { cause: err });
  }
  const routes = new Map<string, HttpHandler>();
  const prefixes: [string, HttpHandler][] = [];
  const routeFor = (url: string): HttpHandler | undefined =>
    routes.get(url) ?? prefixes.find(([p]) => url.startsWith(p))?.[1];
  const handler: RequestListener = (req, res) => {
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    const send = (code: number, type: string, body: string): void => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    void (async () => {
      try {
        const route = routeFor(url);
        if (route !== undefined) {
          const method = req.method ?? 'GET';
          const raw = method === 'POST' ? await readBody(req) : undefined;
          const r = await route({
            method,
            url: req.url ?? '/',
            headers: req.headers,
            ...(raw !== undefined ? { body: raw.toString('utf8'), rawBody: raw } : {}),
          });
          res.writeHead(r.status, r.headers);
          res.end(r.bytes ?? r.body);
        } else if (url === '/metrics') send(200, o.registry.contentType, await o.registry.metrics());
        else if (url === '/-/healthy') send(200, 'text/plain', 'OK\n');
        else if (url === '/-/ready') {
          const ok = o.ready ? o.ready() : true;
          send(ok ? 200 : 503, 'text/plain', ok ? 'OK\n' : 'not ready\n');
        } else if (url === '/api/v1/status') send(200, 'application/json', JSON.stringify(o.status()));
        else send(404, 'text/plain', 'not found\n');
      } catch (err) {
        send(500, 'text/plain', `${errorMessage(err)}\n`);
      }
    })();
  };
  const web = o.web ? await createWebServer(handler, o.web) : undefined;
  const server: Server = web?.server ?? createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      web?.stop();
      reject(listenError(err, flag, o.address));
    });
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  const bound = typeof a === 'object' && a !== null ? `${host}:${a.port}` : o.address;
  return {
    address: bound,
    mount: (path, handler) => void routes.set(path, handler),
    mountPrefix: (prefix, handler) => void prefixes.push([prefix, handler]),
    close: () => {
      web?.stop();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
