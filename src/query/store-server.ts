/**
 * The querier's own Store API and Info API (gRPC over h2c or TLS), so queriers stack: Series,
 * LabelNames and LabelValues go through the fan-out, deduplicated with the querier's replica
 * labels; Info announces component "query", peer type QUERY, the union of the endpoints' label
 * sets (replica labels removed) and time range, and `--query.group-id`.
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import {
  Info,
  InfoResponseSchema,
  PeerType,
  StoreInfoSchema,
  type InfoResponse,
} from '../../gen/thanos/info/infopb/rpc_pb.js';
import {
  SeriesResponseSchema,
  Store,
  type SeriesRequest,
  type SeriesResponse,
} from '../../gen/thanos/store/storepb/rpc_pb.js';
import { PartialResponseStrategy, type LabelMatcher } from '../../gen/thanos/store/storepb/types_pb.js';
import { compareLabels, type Labels } from '../tsdb/labels.js';
import { matcherFromWire, type Matcher } from '../tsdb/index/matchers.js';
import { errorMessage, isStrataError } from '../util/errors.js';
import { listenError } from '../util/system-errors.js';
import { listenH2c } from '../util/h2c-server.js';
import type { Logger } from '../util/logger.js';
import type { ServerTlsFiles } from '../util/tls.js';
import type { EndpointSet } from './endpoints.js';
import type { Querier, SelectParams } from './querier.js';

function grpcError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (isStrataError(err) && err.code === 'ERR_INVALID_ARGUMENT')
    return new ConnectError(err.message, Code.InvalidArgument);
  if (isStrataError(err) && err.code === 'ERR_QUERY_GROUP_FAILED')
    return new ConnectError(err.message, Code.Unavailable);
  return new ConnectError(errorMessage(err), Code.Internal);
}

function matchers(ms: readonly LabelMatcher[]): Matcher[] {
  return ms.map((m) => matcherFromWire(m.type, m.name, m.value));
}

/** Partial responses: the request's strategy (WARN unless ABORT or partial_response_disabled). */
function partial(r: {
  partialResponseDisabled: boolean;
  partialResponseStrategy: PartialResponseStrategy;
}): boolean {
  return !r.partialResponseDisabled && r.partialResponseStrategy === PartialResponseStrategy.WARN;
}

function range(minTime: bigint, maxTime: bigint): { minTime: number; maxTime: number } {
  const lo = Number(minTime);
  const hi = Number(maxTime);
  if (lo > hi) throw new ConnectError(`min_time ${lo} is after max_time ${hi}`, Code.InvalidArgument);
  return { minTime: lo, maxTime: hi };
}

export function querierInfo(
  set: EndpointSet,
  replicaLabels: readonly string[],
  groupId: string,
): InfoResponse {
  const groups = set.groups();
  const seen = new Map<string, Labels>();
  for (const g of groups) {
    for (const s of g.labelSets) {
      const stripped = s.filter((l) => !replicaLabels.includes(l.name));
      seen.set(JSON.stringify(stripped), stripped);
    }
  }
  const sets = [...seen.values()].sort(compareLabels);
  return create(InfoResponseSchema, {
    labelSets: sets.map((s) => ({ labels: s.map((l) => ({ name: l.name, value: l.value })) })),
    ComponentType: 'query',
    store: create(StoreInfoSchema, {
      minTime: BigInt(groups.length > 0 ? Math.min(...groups.map((g) => g.minTime)) : 0),
      maxTime: BigInt(groups.length > 0 ? Math.max(...groups.map((g) => g.maxTime)) : 0),
    }),
    storeGroupId: groupId,
    peerType: PeerType.QUERY,
  });
}

export interface QueryStoreServerOptions {
  readonly querier: Querier;
  readonly endpoints: EndpointSet;
  readonly replicaLabels: readonly string[];
  readonly groupId: string;
  readonly host: string;
  readonly port: number;
  /** The flag named in listen errors. */
  readonly flag: string;
  /** TLS (absent: h2c); the files are reloaded when they change. */
  readonly tls?: ServerTlsFiles;
  readonly logger?: Logger;
}

export interface QueryStoreServer {
  readonly address: string;
  close(): Promise<void>;
}

async function* series(q: Querier, req: SeriesRequest, signal: AbortSignal): AsyncIterable<SeriesResponse> {
  let r;
  try {
    // As a store: selecting every series of every store is refused, not attempted.
    if (req.matchers.length === 0)
      throw new ConnectError('series request without matchers', Code.InvalidArgument);
    const p: SelectParams = {
      ...range(req.minTime, req.maxTime),
      matchers: matchers(req.matchers),
      partialResponse: partial(req),
      skipChunks: req.skipChunks,
      withoutReplicaLabels: req.withoutReplicaLabels,
      // Downsampled data is read back as samples here, so a stacked querier sees raw chunks.
      maxResolutionWindow: Number(req.maxResolutionWindow),
      aggregates: req.aggregates,
      signal,
    };
    r = await q.series(p);
  } catch (err) {
    throw grpcError(err);
  }
  for (const w of r.warnings) yield create(SeriesResponseSchema, { result: { case: 'warning', value: w } });
  for (const s of r.value) {
    yield create(SeriesResponseSchema, {
      result: {
        case: 'series',
        value: {
          labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
          chunks: s.chunks.map((c) => ({
            minTime: BigInt(c.minTime),
            maxTime: BigInt(c.maxTime),
            raw: { type: c.type, data: c.data },
          })),
        },
      },
    });
  }
}

export async function startQueryStoreServer(o: QueryStoreServerOptions): Promise<QueryStoreServer> {
  const handler = connectNodeAdapter({
    routes: (router) => {
      router.service(Store, {
        series: (req, ctx) => series(o.querier, req, ctx.signal),
        labelNames: async (req, ctx) => {
          try {
            const r = await o.querier.labelNames({
              ...range(req.start, req.end),
              matchers: matchers(req.matchers),
              partialResponse: partial(req),
              withoutReplicaLabels: req.withoutReplicaLabels,
              signal: ctx.signal,
            });
            return { names: r.value, warnings: r.warnings };
          } catch (err) {
            throw grpcError(err);
          }
        },
        labelValues: async (req, ctx) => {
          try {
            const r = await o.querier.labelValues(req.label, {
              ...range(req.start, req.end),
              matchers: matchers(req.matchers),
              partialResponse: partial(req),
              withoutReplicaLabels: req.withoutReplicaLabels,
              signal: ctx.signal,
            });
            return { values: r.value, warnings: r.warnings };
          } catch (err) {
            throw grpcError(err);
          }
        },
      });
      router.service(Info, { info: () => querierInfo(o.endpoints, o.replicaLabels, o.groupId) });
    },
  });
  const h2 = await listenH2c(handler, {
    host: o.host,
    port: o.port,
    closeGraceMs: 1000,
    ...(o.tls ? { tls: o.tls } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  }).catch((err: unknown) => {
    throw isStrataError(err) ? err : listenError(err, o.flag, `${o.host}:${o.port}`);
  });
  return { address: h2.address, close: () => h2.close() };
}
