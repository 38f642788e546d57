/**
 * The planner's gRPC endpoint: PlannerService on @connectrpc/connect-node over plain HTTP/2
 * (h2c), so any gRPC client can connect. Binds 127.0.0.1 unless told otherwise.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Planner, type PlannerMessage, type WorkerMessage } from '../../gen/strata/v1/planner_pb.js';
import { PlannerService, type PlannerServiceOptions } from './service.js';

export interface PlannerServerOptions extends PlannerServiceOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port (see `port` on the result). */
  readonly port?: number;
  /** How long close() lets HTTP/2 sessions drain before destroying them. Default 1 s. */
  readonly closeGraceMs?: number;
}

export interface PlannerServer {
  readonly service: PlannerService;
  readonly host: string;
  readonly port: number;
  /** host:port, as workers and NOT_LEADER answers spell it. */
  readonly address: string;
  /** Ends every stream, stops listening and waits for the connections to close. */
  close(): Promise<void>;
}

/** One Connect call: reads the worker's messages in the background, yields the planner's. */
async function* serveStream(
  service: PlannerService,
  requests: AsyncIterable<WorkerMessage>,
  ctx: HandlerContext,
): AsyncIterable<PlannerMessage> {
  const session = service.open();
  const onAbort = (): void => service.close(session);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (!session.out.isClosed) {
    void (async () => {
      try {
        for await (const m of requests) {
          await service.handle(session, m);
          if (session.out.isClosed) return;
        }
        service.endOfInput(session);
      } catch (err) {
        if (!session.closed) session.out.fail(service.reject(session, err));
      }
    })();
  }
  try {
    yield* session.out;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    service.close(session);
  }
}

export async function startPlannerServer(opts: PlannerServerOptions): Promise<PlannerServer> {
  const service = new PlannerService(opts);
  const handler = connectNodeAdapter({
    routes: (router) => {
      router.service(Planner, { connect: (requests, ctx) => serveStream(service, requests, ctx) });
    },
  });
  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  service.start();
  let closing: Promise<void> | undefined;
  return {
    service,
    host,
    port,
    address: `${host}:${port}`,
    close(): Promise<void> {
      closing ??= (async () => {
        service.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sessions) s.close();
        const timer = setTimeout(() => {
          for (const s of sessions) s.destroy();
        }, opts.closeGraceMs ?? 1000);
        await closed;
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}
