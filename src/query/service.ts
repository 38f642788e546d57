/**
 * The querier process minus flags: endpoints with their Info loop, the fan-out, the HTTP API
 * (remote read, series/labels, status, metrics, health) and the Store/Info gRPC server.
 */
import type { SecureClientSessionOptions } from 'node:http2';
import type { Registry } from 'prom-client';
import { parseListenAddress, startHttpEndpoint, type HttpEndpoint } from '../util/http.js';
import type { Logger } from '../util/logger.js';
import type { ServerTlsFiles } from '../util/tls.js';
import type { WebServerOptions } from '../util/web-server.js';
import { EndpointSet } from './endpoints.js';
import type { ReplicaStrategy } from './fanout.js';
import { apiHandlers } from './http-api.js';
import type { DedupFunc } from './merge.js';
import { createQueryMetrics } from './metrics.js';
import { Querier } from './querier.js';
import { remoteReadHandler } from './remote-read.js';
import { startQueryStoreServer, type QueryStoreServer } from './store-server.js';
import { PeerType } from '../../gen/thanos/info/infopb/rpc_pb.js';

export interface QueryServiceOptions {
  readonly endpoints: readonly string[];
  readonly infoIntervalMs: number;
  readonly responseTimeoutMs: number;
  readonly replicaLabels: readonly string[];
  readonly dedupFunc: DedupFunc;
  readonly partialResponse: boolean;
  readonly groupId: string;
  readonly httpAddress: string;
  readonly grpcAddress: string;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly random?: () => number;
  readonly replicaStrategy?: ReplicaStrategy;
  /** Remote read: max_resolution_window = the hints' step / 5 (Thanos' --query.auto-downsampling). */
  readonly autoDownsampling?: boolean;
  /** The Store API server's TLS (absent: h2c). */
  readonly grpcServerTls?: ServerTlsFiles;
  /** TLS to the endpoints (absent: h2c). */
  readonly grpcClientTls?: SecureClientSessionOptions;
  /** --http.config: TLS, basic auth and headers of the HTTP endpoint. */
  readonly web?: WebServerOptions;
}

export interface QueryService {
  readonly querier: Querier;
  readonly endpoints: EndpointSet;
  /** The HTTP endpoint, for the command to mount its UI on. */
  readonly http: HttpEndpoint;
  readonly httpAddress: string;
  readonly grpcAddress: string;
  /** Resolves when the first Info round is done (the process is ready). */
  readonly firstRound: Promise<void>;
  close(): Promise<void>;
}

export function queryStatus(set: EndpointSet): unknown {
  return {
    ready: set.ready,
    endpoints: set.endpoints.map((e) => ({
      address: e.address,
      group: e.last ? (set.groups().find((g) => g.members.includes(e))?.name ?? null) : null,
      peerType: e.last ? PeerType[e.last.peerType] : null,
      componentType: e.last?.componentType ?? null,
      healthy: e.healthy,
      consecutiveFailures: e.failures,
      lastError: e.lastError ?? null,
      latencyMs: e.latencyMs === undefined ? null : Math.round(e.latencyMs * 100) / 100,
      minTime: e.last?.minTime ?? null,
      maxTime: e.last?.maxTime ?? null,
    })),
    groups: set.groups().map((g) => ({
      name: g.name,
      kind: g.kind,
      groupId: g.groupId,
      members: g.members.map((m) => m.address),
      healthy: g.members.filter((m) => m.healthy).length,
      minTime: g.minTime,
      maxTime: g.maxTime,
    })),
  };
}

export async function startQueryService(o: QueryServiceOptions): Promise<QueryService> {
  const grpc = parseListenAddress(o.grpcAddress);
  const endpoints = new EndpointSet({
    addresses: o.endpoints,
    intervalMs: o.infoIntervalMs,
    logger: o.logger,
    ...(o.grpcClientTls ? { tls: o.grpcClientTls } : {}),
  });
  const metrics = createQueryMetrics(o.registry, endpoints);
  const querier = new Querier({
    endpoints,
    replicaLabels: o.replicaLabels,
    dedupFunc: o.dedupFunc,
    partialResponse: o.partialResponse,
    responseTimeoutMs: o.responseTimeoutMs,
    metrics,
    logger: o.logger,
    ...(o.random ? { random: o.random } : {}),
    ...(o.replicaStrategy ? { replicaStrategy: o.replicaStrategy } : {}),
  });
  const http: HttpEndpoint = await startHttpEndpoint({
    address: o.httpAddress,
    ...(o.web ? { web: o.web } : {}),
    registry: o.registry,
    status: () => queryStatus(endpoints),
    ready: () => endpoints.ready,
  });
  let store: QueryStoreServer;
  try {
    store = await startQueryStoreServer({
      querier,
      endpoints,
      replicaLabels: o.replicaLabels,
      groupId: o.groupId,
      host: grpc.host,
      port: grpc.port,
      flag: '--grpc-address',
      ...(o.grpcServerTls ? { tls: o.grpcServerTls } : {}),
      logger: o.logger,
    });
  } catch (err) {
    await http.close();
    throw err;
  }
  const api = apiHandlers(querier);
  http.mount(
    '/api/v1/read',
    remoteReadHandler({ querier, logger: o.logger, autoDownsampling: o.autoDownsampling ?? false }),
  );
  http.mount('/api/v1/series', api.series);
  http.mount('/api/v1/labels', api.labels);
  http.mountPrefix('/api/v1/label/', api.labelValues);
  const firstRound = endpoints.start();
  return {
    querier,
    endpoints,
    http,
    httpAddress: http.address,
    grpcAddress: store.address,
    firstRound,
    async close(): Promise<void> {
      endpoints.stop();
      await Promise.all([http.close(), store.close()]);
    },
  };
}
