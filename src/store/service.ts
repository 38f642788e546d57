/**
 * The Store API over the served blocks: Series, LabelNames, LabelValues and Info. Requests are
 * validated first (InvalidArgument), limits are checked before anything is sent
 * (ResourceExhausted), and Series requests hold a slot of the concurrency gate while they run.
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  LabelNamesResponseSchema,
  LabelValuesResponseSchema,
  SeriesResponseSchema,
  type LabelNamesRequest,
  type LabelNamesResponse,
  type LabelValuesRequest,
  type LabelValuesResponse,
  type SeriesRequest,
  type SeriesResponse,
} from '../../gen/thanos/store/storepb/rpc_pb.js';
import { SeriesSchema, type LabelMatcher } from '../../gen/thanos/store/storepb/types_pb.js';
import { LabelSchema } from '../../gen/thanos/store/labelpb/types_pb.js';
import { matcherFromWire, type Matcher } from '../tsdb/index/matchers.js';
import { compareStrings } from '../tsdb/labels.js';
import { EMPTY_LABEL_NAME, errorMessage, isStrataError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { AggrChunkBuilder } from './aggr-out.js';
import type { StoreBlock } from './block.js';
import type { RawChunk } from './chunks.js';
import type { Gate } from './gate.js';
import { ChunkMerger, mergeBlockSeries, type MergedSeries } from './merge.js';
import type { StoreMetrics } from './metrics.js';
import { blocksForResolution } from './resolution.js';
import { blockLabelNames, blockLabelValues, selectBlockSeries } from './select.js';

export interface StoreLimits {
  /** Series per Series request; 0: no limit. */
  readonly series: number;
  /** Samples per Series request, estimated as chunks × 120 (Thanos' estimate); 0: no limit. */
  readonly samples: number;
}

export interface StoreServiceDeps {
  /** The blocks served now. */
  readonly blocks: () => readonly StoreBlock[];
  readonly gate: Gate;
  readonly limits: StoreLimits;
  readonly metrics?: StoreMetrics;
  readonly logger: Logger;
}

/** Samples assumed per chunk for the samples limit (Prometheus cuts chunks at 120 samples). */
export const SAMPLES_PER_CHUNK_ESTIMATE = 120;
/** Merged series whose chunks are fetched together (one set of range requests per block). */
const BATCH = 512;

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** Wire matchers as Matchers; InvalidArgument naming the bad one. */
export function parseMatchers(wire: readonly LabelMatcher[]): Matcher[] {
  return wire.map((m, i) => {
    try {
      return matcherFromWire(m.type, m.name, m.value);
    } catch (err) {
      throw invalid(`matcher ${i} (${JSON.stringify(m.name)}): ${errorMessage(err)}`);
    }
  });
}

/** Request bounds as numbers (int64 extremes become ±Infinity); InvalidArgument when min > max. */
function timeRange(min: bigint, max: bigint, what: string): [number, number] {
  if (min > max) throw invalid(`${what}: min time ${min} is after max time ${max}`);
  return [min <= MIN_INT64 ? -Infinity : Number(min), max >= MAX_INT64 ? Infinity : Number(max)];
}

/** The gRPC code a failure is reported with (for metrics). */
export function codeOf(err: unknown): string {
  const c = ConnectError.from(err).code;
  return Code[c] ?? 'Unknown';
}

export class StoreService {
  constructor(private readonly deps: StoreServiceDeps) {}

  private overlapping(mint: number, maxt: number): StoreBlock[] {
    return this.deps.blocks().filter((b) => b.overlaps(mint, maxt));
  }

  /** Internal errors (corrupt block data, bucket failures) as gRPC errors naming what failed. */
  private fail(err: unknown, what: string): ConnectError {
    if (err instanceof ConnectError) return err;
    const code = isStrataError(err) ? err.code : 'ERR_INTERNAL';
    this.deps.logger.warn(`${what} failed`, { code, err: errorMessage(err) });
    return new ConnectError(
      `${what}: ${code}: ${errorMessage(err)}`,
      Code.Internal,
      undefined,
      undefined,
      err,
    );
  }

  async *series(req: SeriesRequest, signal: AbortSignal): AsyncGenerator<SeriesResponse> {
    const [mint, maxt] = timeRange(req.minTime, req.maxTime, 'series request');
    if (req.matchers.length === 0) throw invalid('series request: no matchers (at least one is required)');
    const matchers = parseMatchers(req.matchers);
    const without = new Set(req.withoutReplicaLabels);
    if (req.maxResolutionWindow < 0n) {
      throw invalid(`series request: negative max_resolution_window ${req.maxResolutionWindow}`);
    }
    const window = Number(req.maxResolutionWindow);
    const { gate, limits, metrics } = this.deps;
    await gate.acquire(signal);
    metrics?.inFlight.inc();
    try {
      // Thanos' getFor: the coarsest resolution within the window, gaps filled from finer ones.
      const blocks = blocksForResolution(this.overlapping(mint, maxt), mint, maxt, window);
      for (const b of blocks) metrics?.blocksQueried.inc({ resolution: String(b.resolution) });
      let merged: MergedSeries[];
      try {
        const perBlock = await Promise.all(
          blocks.map((b) => selectBlockSeries(b, matchers, mint, maxt, without)),
        );
        merged = mergeBlockSeries(perBlock);
      } catch (err) {
        throw this.fail(err, 'selecting series');
      }
      if (limits.series > 0 && merged.length > limits.series) {
        throw new ConnectError(
          `series request: ${merged.length} series match, over the limit of ${limits.series} (--store.limits.request-series)`,
          Code.ResourceExhausted,
        );
      }
      if (!req.skipChunks && limits.samples > 0) {
        let chunks = 0;
        for (const s of merged) chunks += s.chunks.length;
        const est = chunks * SAMPLES_PER_CHUNK_ESTIMATE;
        if (est > limits.samples) {
          throw new ConnectError(
            `series request: ~${est} samples (${chunks} chunks × ${SAMPLES_PER_CHUNK_ESTIMATE}) over the limit of ${limits.samples} (--store.limits.request-samples)`,
            Code.ResourceExhausted,
          );
        }
      }
      const merger = new ChunkMerger();
      const aggr = new AggrChunkBuilder(req.aggregates);
      for (let i = 0; i < merged.length; i += BATCH) {
        signal.throwIfAborted();
        const batch = merged.slice(i, i + BATCH);
        let fetched: Map<number, RawChunk>[] = [];
        if (!req.skipChunks) {
          try {
            fetched = await fetchBatch(blocks, batch);
          } catch (err) {
            throw this.fail(err, 'reading chunks');
          }
        }
        for (const s of batch) {
          const series = create(SeriesSchema, {
            labels: s.labels.map((l) => create(LabelSchema, { name: l.name, value: l.value })),
          });
          if (!req.skipChunks) {
            const lookup = (b: number, ref: number): RawChunk => fetched[b]!.get(ref)!;
            let out;
            const where = blocks[s.chunks[0]!.block]!.id;
            try {
              out = merger.resolve(s, lookup, where);
              for (const c of out) series.chunks.push(aggr.build(c, where));
            } catch (err) {
              throw this.fail(err, 'merging chunks');
            }
            metrics?.chunksSent.inc(out.length);
          }
          metrics?.seriesSent.inc();
          yield create(SeriesResponseSchema, { result: { case: 'series', value: series } });
        }
      }
      metrics?.chunksMerged.inc(merger.merged);
    } finally {
      metrics?.inFlight.dec();
      gate.release();
    }
  }

  async labelNames(req: LabelNamesRequest): Promise<LabelNamesResponse> {
    const [start, end] = labelRange(req.start, req.end, 'label names request');
    const matchers = parseMatchers(req.matchers);
    const names = new Set<string>();
    try {
      await Promise.all(this.overlapping(start, end).map((b) => blockLabelNames(b, matchers, names)));
    } catch (err) {
      throw this.fail(err, 'label names');
    }
    for (const n of req.withoutReplicaLabels) names.delete(n);
    return create(LabelNamesResponseSchema, { names: sortedLimited(names, req.limit) });
  }

  async labelValues(req: LabelValuesRequest): Promise<LabelValuesResponse> {
    if (req.label === '') throw invalid(`label values request: ${EMPTY_LABEL_NAME}`);
    const [start, end] = labelRange(req.start, req.end, 'label values request');
    const matchers = parseMatchers(req.matchers);
    // A removed replica label has no values (as in Thanos' bucket store).
    if (req.withoutReplicaLabels.includes(req.label)) return create(LabelValuesResponseSchema, {});
    const values = new Set<string>();
    try {
      await Promise.all(
        this.overlapping(start, end).map((b) => blockLabelValues(b, req.label, matchers, values)),
      );
    } catch (err) {
      throw this.fail(err, 'label values');
    }
    values.delete('');
    return create(LabelValuesResponseSchema, { values: sortedLimited(values, req.limit) });
  }
}

/** start = end = 0 (unset) means all time; otherwise inclusive bounds like Series. */
function labelRange(start: bigint, end: bigint, what: string): [number, number] {
  if (start === 0n && end === 0n) return [-Infinity, Infinity];
  return timeRange(start, end, what);
}

function sortedLimited(set: Set<string>, limit: bigint): string[] {
  const out = [...set].sort(compareStrings);
  return limit > 0n && out.length > Number(limit) ? out.slice(0, Number(limit)) : out;
}

/** The chunks of a batch of merged series, fetched per block (one coalesced fetch per block). */
async function fetchBatch(
  blocks: readonly StoreBlock[],
  batch: readonly MergedSeries[],
): Promise<Map<number, RawChunk>[]> {
  const refs: number[][] = blocks.map(() => []);
  for (const s of batch) for (const c of s.chunks) refs[c.block]!.push(c.meta.ref);
  return Promise.all(
    blocks.map((b, i) => (refs[i]!.length === 0 ? new Map<number, RawChunk>() : b.chunks.fetch(refs[i]!))),
  );
}
