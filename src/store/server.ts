/**
 * The store's gRPC endpoint: thanos.Store (Series, LabelNames, LabelValues) and
 * thanos.info.Info on @connectrpc/connect-node over h2c or TLS (mutual with a client CA), so Thanos queriers and any gRPC client
 * can connect. close() stops accepting connections and lets running streams finish (up to a
 * grace period) before destroying what is left.
 */
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Store } from '../../gen/thanos/store/storepb/rpc_pb.js';
import { Info, type InfoResponse } from '../../gen/thanos/info/infopb/rpc_pb.js';
import { parseListenAddress } from '../util/http.js';
import { InvalidArgumentError, errorMessage, isStrataError } from '../util/errors.js';
import { listenError } from '../util/system-errors.js';
import { listenH2c } from '../util/h2c-server.js';
import type { Logger } from '../util/logger.js';
import type { ServerTlsFiles } from '../util/tls.js';
import type { StoreMetrics } from './metrics.js';
import { codeOf, type StoreService } from './service.js';

export interface StoreServerOptions {
  /** host:port; port 0 picks a free port. */
  readonly address: string;
  readonly service: StoreService;
  readonly info: () => InfoResponse;
  readonly metrics?: StoreMetrics;
  /** How long close() lets running streams finish (default 10 s). */
  readonly closeGraceMs?: number;
  /** TLS (absent: h2c); the files are reloaded when they change. */
  readonly tls?: ServerTlsFiles;
  readonly logger?: Logger;
}

export interface StoreServer {
  /** host:port actually bound. */
  readonly address: string;
  close(): Promise<void>;
}

/** Times a unary call and counts it by gRPC code. */
async function observed<T>(m: StoreMetrics | undefined, method: string, fn: () => Promise<T>): Promise<T> {
  const end = m?.duration.startTimer({ method });
  try {
    const r = await fn();
    m?.requests.inc({ method, code: 'OK' });
    return r;
  } catch (err) {
    m?.requests.inc({ method, code: codeOf(err) });
    throw err;
  } finally {
    end?.();
  }
}

export async function startStoreServer(o: StoreServerOptions): Promise<StoreServer> {
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseListenAddress(o.address));
  } catch (err) {
    throw new InvalidArgumentError(`--grpc-address: ${errorMessage(err)}`, { cause: err });
  }
  const m = o.metrics;
  const handler = connectNodeAdapter({
    routes: (router) => {
      router.service(Store, {
        series: async function* (req, ctx) {
          const end = m?.duration.startTimer({ method: 'Series' });
          try {
            yield* o.service.series(req, ctx.signal);
            m?.requests.inc({ method: 'Series', code: 'OK' });
          } catch (err) {
            m?.requests.inc({ method: 'Series', code: codeOf(err) });
            throw err;
          } finally {
            end?.();
          }
        },
        labelNames: (req) => observed(m, 'LabelNames', () => o.service.labelNames(req)),
        labelValues: (req) => observed(m, 'LabelValues', () => o.service.labelValues(req)),
      });
      router.service(Info, { info: () => observed(m, 'Info', () => Promise.resolve(o.info())) });
    },
  });
  const h2 = await listenH2c(handler, {
    host,
    port,
    closeGraceMs: o.closeGraceMs ?? 10_000,
    ...(o.tls ? { tls: o.tls } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  }).catch((err: unknown) => {
    throw isStrataError(err) ? err : listenError(err, '--grpc-address', o.address);
  });
  return { address: h2.address, close: () => h2.close() };
}
