/**
 * Small in-test Store API + Info API servers (connect-node over h2c on 127.0.0.1) answering from
 * canned series, with an optional delay, so the querier is tested over real gRPC.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create } from '@bufbuild/protobuf';
import { ConnectError, Code } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Registry } from 'prom-client';
import { Info, InfoResponseSchema, PeerType } from '../../gen/thanos/info/infopb/rpc_pb.js';
import { Store, type SeriesResponse } from '../../gen/thanos/store/storepb/rpc_pb.js';
import { encodeXorChunks } from '../../src/tsdb/chunkenc/encode.js';
import { bitsToFloat, floatHi, floatLo } from '../../src/tsdb/chunkenc/float-bits.js';
import { matcherFromWire } from '../../src/tsdb/index/matchers.js';
import { compareLabels, labelsFromRecord, type Labels } from '../../src/tsdb/labels.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { createLogger } from '../../src/util/logger.js';
import { startQueryService, type QueryService, type QueryServiceOptions } from '../../src/query/service.js';

/** [t, value] pairs of a buffer. */
export function bufPoints(b: SampleBuf): [number, number][] {
  return Array.from({ length: b.len }, (_, i): [number, number] => [
    b.ts[i]!,
    bitsToFloat(b.hi[i]!, b.lo[i]!),
  ]);
}

export interface CannedSeries {
  readonly labels: Labels;
  readonly samples: SampleBuf;
}

export function samples(points: readonly (readonly [number, number])[]): SampleBuf {
  const b = new SampleBuf(points.length || 1);
  for (const [t, v] of points) b.push(t, floatHi(v), floatLo(v));
  return b;
}

export function series(
  labels: Record<string, string>,
  points: readonly (readonly [number, number])[],
): CannedSeries {
  return { labels: labelsFromRecord(labels), samples: samples(points) };
}

export interface FakeStoreOptions {
  readonly series: readonly CannedSeries[];
  readonly labelSets?: readonly Record<string, string>[];
  readonly groupId?: string;
  readonly peerType?: PeerType;
  readonly componentType?: string;
  readonly minTime?: number;
  readonly maxTime?: number;
  /** Delay before a Series/LabelNames/LabelValues answer, ms. */
  delayMs?: number;
  /** Fail every data call with this message. */
  failWith?: string;
}

export interface FakeStore {
  readonly address: string;
  readonly opts: FakeStoreOptions;
  /** Data calls received, and those whose caller cancelled before the answer. */
  readonly calls: { series: number; labelNames: number; labelValues: number; cancelled: number };
  close(): Promise<void>;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ms <= 0) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new ConnectError('cancelled', Code.Canceled));
      },
      { once: true },
    );
  });
}

export async function startFakeStore(opts: FakeStoreOptions): Promise<FakeStore> {
  const sorted = [...opts.series].sort((a, b) => compareLabels(a.labels, b.labels));
  const calls = { series: 0, labelNames: 0, labelValues: 0, cancelled: 0 };
  const gate = async (signal: AbortSignal): Promise<void> => {
    try {
      await sleep(opts.delayMs ?? 0, signal);
    } catch (err) {
      calls.cancelled++;
      throw err;
    }
    if (opts.failWith !== undefined) throw new ConnectError(opts.failWith, Code.Unavailable);
  };
  const select = (ms: { type: number; name: string; value: string }[]): CannedSeries[] => {
    const matchers = ms.map((m) => matcherFromWire(m.type, m.name, m.value));
    return sorted.filter((s) =>
      matchers.every((m) => m.matches(s.labels.find((l) => l.name === m.name)?.value ?? '')),
    );
  };
  const handler = connectNodeAdapter({
    routes: (router) => {
      router.service(Store, {
        async *series(req, ctx) {
          calls.series++;
          await gate(ctx.signal);
          for (const s of select(req.matchers)) {
            const chunks = encodeXorChunks(s.samples).filter(
              (c) => c.maxt >= Number(req.minTime) && c.mint <= Number(req.maxTime),
            );
            yield {
              $typeName: 'thanos.SeriesResponse',
              result: {
                case: 'series',
                value: {
                  $typeName: 'thanos.Series',
                  labels: s.labels.map((l) => ({ $typeName: 'thanos.Label', name: l.name, value: l.value })),
                  chunks: req.skipChunks
                    ? []
                    : chunks.map((c) => ({
                        $typeName: 'thanos.AggrChunk',
                        minTime: BigInt(c.mint),
                        maxTime: BigInt(c.maxt),
                        raw: { $typeName: 'thanos.Chunk', type: 0, data: c.data, hash: 0n },
                      })),
                },
              },
            } as SeriesResponse;
          }
        },
        async labelNames(req, ctx) {
          calls.labelNames++;
          await gate(ctx.signal);
          const names = new Set<string>();
          for (const s of select(req.matchers)) for (const l of s.labels) names.add(l.name);
          return { names: [...names].sort() };
        },
        async labelValues(req, ctx) {
          calls.labelValues++;
          await gate(ctx.signal);
          const values = new Set<string>();
          for (const s of select(req.matchers)) {
            const v = s.labels.find((l) => l.name === req.label)?.value;
            if (v !== undefined) values.add(v);
          }
          return { values: [...values].sort() };
        },
      });
      router.service(Info, {
        info: () =>
          create(InfoResponseSchema, {
            labelSets: (opts.labelSets ?? []).map((r) => ({
              labels: labelsFromRecord(r).map((l) => ({ name: l.name, value: l.value })),
            })),
            ComponentType: opts.componentType ?? 'store',
            store: { minTime: BigInt(opts.minTime ?? 0), maxTime: BigInt(opts.maxTime ?? 1e13) },
            storeGroupId: opts.groupId ?? '',
            peerType: opts.peerType ?? PeerType.UNSPECIFIED,
          }),
      });
    },
  });
  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    address,
    opts,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
}

export type TestQuery = QueryService & { registry: Registry };

export async function startTestQuery(
  endpoints: readonly string[],
  o: Partial<Omit<QueryServiceOptions, 'endpoints' | 'registry' | 'logger'>> = {},
): Promise<TestQuery> {
  const registry = new Registry();
  const svc = await startQueryService({
    endpoints,
    infoIntervalMs: 1000,
    responseTimeoutMs: 0,
    replicaLabels: [],
    dedupFunc: 'penalty',
    partialResponse: false,
    groupId: '',
    httpAddress: '127.0.0.1:0',
    grpcAddress: '127.0.0.1:0',
    registry,
    logger: createLogger({ level: 'error', format: 'json' }),
    ...o,
  });
  await svc.firstRound;
  return Object.assign(svc, { registry });
}
