/**
 * The planner's gRPC endpoint: PlannerService on @connectrpc/connect-node over HTTP/2: h2c, so any
 * gRPC client can connect, or TLS (mutual with a client CA). Binds 127.0.0.1 unless told otherwise.
 */
import type { HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Planner, type PlannerMessage, type WorkerMessage } from '../../gen/strata/v1/planner_pb.js';
import { PlannerService, type PlannerServiceOptions } from './service.js';
import { listenH2c } from '../util/h2c-server.js';
import { plannerStreamHandler } from './grpc-stream.js';
import type { ServerTlsFiles } from '../util/tls.js';

export interface PlannerServerOptions extends PlannerServiceOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port (see `port` on the result). */
  readonly port?: number;
  /** How long close() lets HTTP/2 sessions drain before destroying them. Default 1 s. */
  readonly closeGraceMs?: number;
  /** TLS (absent: h2c); the files are reloaded when they change. */
  readonly tls?: ServerTlsFiles;
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
  // The worker stream itself is served without Connect's per-message pipeline (grpc-stream.ts).
  const h2 = await listenH2c(plannerStreamHandler(service, handler), {
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    closeGraceMs: opts.closeGraceMs ?? 1000,
    ...(opts.tls ? { tls: opts.tls } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  service.start();
  return {
    service,
    host: h2.host,
    port: h2.port,
    address: h2.address,
    close(): Promise<void> {
      service.stop();
      return h2.close();
    },
  };
}
