/**
 * A test client for any Thanos Store API endpoint (strata store, strata query, a Thanos sidecar):
 * Series (single series and batches), LabelNames, LabelValues and thanos.info.Info over gRPC h2c,
 * with results as plain data (labels as records, chunks decoded to samples).
 */
import { create } from '@bufbuild/protobuf';
import { ConnectError, createClient, type Client } from '@connectrpc/connect';
import { Http2SessionManager, createGrpcTransport } from '@connectrpc/connect-node';
import { Info, type InfoResponse } from '../../gen/thanos/info/infopb/rpc_pb.js';
import {
  LabelNamesRequestSchema,
  LabelValuesRequestSchema,
  SeriesRequestSchema,
  Store,
} from '../../gen/thanos/store/storepb/rpc_pb.js';
import { LabelMatcherSchema, type Series } from '../../gen/thanos/store/storepb/types_pb.js';
import { decodeXorInto, xorNumSamples } from '../../src/tsdb/chunkenc/xor-decode.js';
import { bitsToFloat } from '../../src/tsdb/chunkenc/float-bits.js';
import { formatDumpLine } from '../support/dump.js';

export type MatchType = 'EQ' | 'NEQ' | 'RE' | 'NRE';

/** Wire numbering of thanos.LabelMatcher.Type. */
const MATCH_TYPE: Readonly<Record<MatchType, number>> = { EQ: 0, NEQ: 1, RE: 2, NRE: 3 };

export interface WireMatcher {
  type: MatchType;
  name: string;
  value: string;
}

export interface SeriesQuery {
  minTime: number;
  maxTime: number;
  matchers: readonly WireMatcher[];
  skipChunks?: boolean;
  withoutReplicaLabels?: readonly string[];
  partialResponseDisabled?: boolean;
}

export interface LabelsQuery {
  start: number;
  end: number;
  matchers?: readonly WireMatcher[];
  withoutReplicaLabels?: readonly string[];
}

export interface ReceivedChunk {
  minTime: number;
  maxTime: number;
  /** Store API encoding number (XOR = 0). */
  type: number;
  data: Uint8Array;
}

export interface ReceivedSeries {
  /** Label pairs in the order received. */
  pairs: [string, string][];
  labels: Record<string, string>;
  chunks: ReceivedChunk[];
}

export interface SeriesAnswer {
  series: ReceivedSeries[];
  warnings: string[];
}

export interface ReceivedSample {
  labels: Record<string, string>;
  t: number;
  v: number;
}

export interface StoreApiClient {
  readonly address: string;
  series(q: SeriesQuery, signal?: AbortSignal): Promise<SeriesAnswer>;
  labelNames(q: LabelsQuery): Promise<{ names: string[]; warnings: string[] }>;
  labelValues(label: string, q: LabelsQuery): Promise<{ values: string[]; warnings: string[] }>;
  info(): Promise<InfoResponse>;
  close(): void;
}

function wireMatchers(ms: readonly WireMatcher[] | undefined): ReturnType<typeof wireMatcher>[] {
  return (ms ?? []).map(wireMatcher);
}

function wireMatcher(m: WireMatcher): ReturnType<typeof create<typeof LabelMatcherSchema>> {
  return create(LabelMatcherSchema, { type: MATCH_TYPE[m.type], name: m.name, value: m.value });
}

function received(s: Series): ReceivedSeries {
  const pairs: [string, string][] = s.labels.map((l) => [l.name, l.value]);
  const chunks: ReceivedChunk[] = [];
  for (const c of s.chunks) {
    if (c.raw === undefined) throw new Error('series chunk without raw data (aggregates are not requested)');
    chunks.push({
      minTime: Number(c.minTime),
      maxTime: Number(c.maxTime),
      type: c.raw.type,
      data: c.raw.data,
    });
  }
  return { pairs, labels: Object.fromEntries(pairs), chunks };
}

/** A client for the Store and Info services at host:port (h2c). close() ends its HTTP/2 session. */
export function storeApiClient(address: string): StoreApiClient {
  const baseUrl = `http://${address}`;
  const manager = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({ baseUrl, sessionManager: manager });
  const store: Client<typeof Store> = createClient(Store, transport);
  const info: Client<typeof Info> = createClient(Info, transport);
  return {
    address,
    async series(q: SeriesQuery, signal?: AbortSignal): Promise<SeriesAnswer> {
      const req = create(SeriesRequestSchema, {
        minTime: BigInt(q.minTime),
        maxTime: BigInt(q.maxTime),
        matchers: wireMatchers(q.matchers),
        skipChunks: q.skipChunks ?? false,
        withoutReplicaLabels: [...(q.withoutReplicaLabels ?? [])],
        partialResponseDisabled: q.partialResponseDisabled ?? false,
      });
      const out: SeriesAnswer = { series: [], warnings: [] };
      for await (const r of store.series(req, { signal })) {
        if (r.result.case === 'series') out.series.push(received(r.result.value));
        else if (r.result.case === 'batch')
          for (const s of r.result.value.series) out.series.push(received(s));
        else if (r.result.case === 'warning') out.warnings.push(r.result.value);
      }
      return out;
    },
    async labelNames(q: LabelsQuery): Promise<{ names: string[]; warnings: string[] }> {
      const r = await store.labelNames(
        create(LabelNamesRequestSchema, {
          start: BigInt(q.start),
          end: BigInt(q.end),
          matchers: wireMatchers(q.matchers),
          withoutReplicaLabels: [...(q.withoutReplicaLabels ?? [])],
        }),
      );
      return { names: r.names, warnings: r.warnings };
    },
    async labelValues(label: string, q: LabelsQuery): Promise<{ values: string[]; warnings: string[] }> {
      const r = await store.labelValues(
        create(LabelValuesRequestSchema, {
          label,
          start: BigInt(q.start),
          end: BigInt(q.end),
          matchers: wireMatchers(q.matchers),
          withoutReplicaLabels: [...(q.withoutReplicaLabels ?? [])],
        }),
      );
      return { values: r.values, warnings: r.warnings };
    },
    info: () => info.info({}),
    close: () => manager.abort(),
  };
}

/** The gRPC status name and message of a failed call (`InvalidArgument`, ...), or rethrows. */
export function grpcError(err: unknown): { code: string; message: string } {
  const e = ConnectError.from(err);
  const names: Record<number, string> = {
    1: 'Canceled',
    2: 'Unknown',
    3: 'InvalidArgument',
    4: 'DeadlineExceeded',
    5: 'NotFound',
    8: 'ResourceExhausted',
    9: 'FailedPrecondition',
    13: 'Internal',
    14: 'Unavailable',
  };
  return { code: names[e.code] ?? String(e.code), message: e.rawMessage };
}

/** Every sample of every received series, in series order then time (XOR chunks only). */
export function decodeSeriesSamples(series: readonly ReceivedSeries[]): ReceivedSample[] {
  const out: ReceivedSample[] = [];
  let ts = new Float64Array(256);
  let hi = new Uint32Array(256);
  let lo = new Uint32Array(256);
  for (const s of series) {
    for (const c of s.chunks) {
      if (c.type !== 0) throw new Error(`chunk encoding ${c.type} is not XOR (0 in the Store API)`);
      const n = xorNumSamples(c.data);
      if (n > ts.length) {
        ts = new Float64Array(n);
        hi = new Uint32Array(n);
        lo = new Uint32Array(n);
      }
      decodeXorInto(c.data, ts, hi, lo);
      for (let i = 0; i < n; i++) out.push({ labels: s.labels, t: ts[i]!, v: bitsToFloat(hi[i]!, lo[i]!) });
    }
  }
  return out;
}

/**
 * Samples as promtool dump lines (labels minus `dropLabels`), one per (series, timestamp) as
 * received: duplicates and out-of-order samples stay visible to the caller's comparison.
 */
export function samplesToDumpLines(
  samples: readonly ReceivedSample[],
  dropLabels: readonly string[] = [],
): string[] {
  return samples.map((s) => {
    const labels = { ...s.labels };
    for (const l of dropLabels) delete labels[l];
    return formatDumpLine({ labels, t: s.t, v: s.v });
  });
}
