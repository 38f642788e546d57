/**
 * Aggregated chunks of native histogram series (float-histogram sum and counter sub-chunks, an
 * XOR count; written by downsampling, see src/tsdb/downsample/hist-raw.ts) read back as samples,
 * as downsampled.ts does for float series:
 *
 * - count: the number of raw samples per window, as floats (count_over_time);
 * - sum: the window's summed histogram; avg (count and sum, the default): the sum divided by the
 *   count, i.e. the window's average histogram; both as gauge histograms;
 * - counter: the running totals as stored. They restart at each chunk, so the reader's own reset
 *   detection (PromQL's rate on histograms) sees a restart as a counter reset, which is how Thanos
 *   reads them too: exact within a chunk, approximate across chunk edges;
 * - min and max do not exist for histograms: the store refuses such a request already.
 *
 * Raw histogram chunks in the answer (gaps filled from raw blocks) pass as their samples.
 * Output: float histogram chunks (Store API FLOAT_HISTOGRAM), or XOR for count.
 */
import { encodeXorChunks } from '../tsdb/chunkenc/encode.js';
import { encodeFloatHistogramChunks } from '../tsdb/chunkenc/histogram.js';
import { decodeFloatHistogramChunk, decodeHistogramChunk } from '../tsdb/chunkenc/histogram-codec.js';
import { decodeChunkInto } from '../tsdb/chunkenc/chunk.js';
import { ENC_XOR } from '../tsdb/chunkenc/encoding.js';
import { bitsToFloat } from '../tsdb/chunkenc/float-bits.js';
import { divHistogram } from '../tsdb/histogram/layout.js';
import {
  HINT_GAUGE,
  HINT_UNKNOWN,
  cloneHistogram,
  toFloatHistogram,
  type FloatHistogram,
} from '../tsdb/histogram/types.js';
import { SampleBuf } from '../tsdb/samples/sample-buf.js';
import { InvalidArgumentError, StrataError } from '../util/errors.js';
import { WIRE_FLOAT_HISTOGRAM, WIRE_HISTOGRAM, WIRE_XOR, type WireChunk } from './merge.js';
import type { WireAggrChunk, WireSubChunk } from './downsampled.js';

/** Whether a received chunk belongs to a histogram series (raw histogram or histogram aggregates). */
export function isHistogramChunk(c: WireAggrChunk): boolean {
  if (c.raw !== undefined) return c.raw.type === WIRE_HISTOGRAM || c.raw.type === WIRE_FLOAT_HISTOGRAM;
  return c.sum?.type === WIRE_FLOAT_HISTOGRAM || c.counter?.type === WIRE_FLOAT_HISTOGRAM;
}

function hists(c: WireSubChunk, what: string): { ts: Float64Array; hs: FloatHistogram[] } {
  if (c.type === WIRE_FLOAT_HISTOGRAM) return decodeFloatHistogramChunk(c.data, what, 0);
  if (c.type === WIRE_HISTOGRAM) {
    const d = decodeHistogramChunk(c.data, what, 0);
    return { ts: d.ts, hs: d.hs.map(toFloatHistogram) };
  }
  throw new InvalidArgumentError(`${what}: chunk encoding ${c.type} is not a histogram chunk`);
}

function floats(c: WireSubChunk, what: string): SampleBuf {
  if (c.type !== WIRE_XOR)
    throw new InvalidArgumentError(`${what}: count sub-chunk encoding ${c.type} is not XOR`);
  const b = new SampleBuf(16);
  decodeChunkInto({ encoding: ENC_XOR, data: c.data, dataOffset: 0 }, b, what);
  return b;
}

function missing(what: string, c: WireAggrChunk, name: string): StrataError {
  return new StrataError(
    'ERR_STORE_AGGREGATE_MISSING',
    `${what}: histogram chunk [${c.minTime}, ${c.maxTime}] has neither raw data nor the ${name} aggregate`,
  );
}

/**
 * A run of histogram chunks (time order) read back for `mode` (count, sum, avg or counter).
 * Samples not after the last one kept are dropped (overlapping chunks, as for floats).
 */
export function histogramRunToChunks(
  chunks: readonly WireAggrChunk[],
  mode: string,
  what: string,
): WireChunk[] {
  if (mode === 'min' || mode === 'max') {
    throw new StrataError(
      'ERR_STORE_AGGREGATE_MISSING',
      `${what}: native histogram series have no ${mode} aggregate`,
    );
  }
  let last = -Infinity;
  if (mode === 'count') {
    const all = new SampleBuf(256);
    for (const c of chunks) {
      if (c.raw !== undefined) continue; // a raw histogram has no per-window count
      if (c.count === undefined) throw missing(what, c, 'count');
      const b = floats(c.count, what);
      for (let i = 0; i < b.len; i++) {
        if (b.ts[i]! <= last) continue;
        last = b.ts[i]!;
        all.push(last, b.hi[i]!, b.lo[i]!);
      }
    }
    return encodeXorChunks(all).map((e) => ({
      minTime: e.mint,
      maxTime: e.maxt,
      type: WIRE_XOR,
      data: e.data,
    }));
  }
  const ts: number[] = [];
  const hs: FloatHistogram[] = [];
  const keep = (t: number, h: FloatHistogram): void => {
    if (t <= last) return;
    last = t;
    ts.push(t);
    hs.push(h);
  };
  for (const c of chunks) {
    if (c.raw !== undefined) {
      const r = hists(c.raw, what);
      for (let i = 0; i < r.hs.length; i++) keep(r.ts[i]!, cloneHistogram(r.hs[i]!));
      continue;
    }
    const sub = mode === 'counter' ? c.counter : c.sum;
    if (sub === undefined) throw missing(what, c, mode === 'counter' ? 'counter' : 'sum');
    const r = hists(sub, what);
    let counts: SampleBuf | undefined;
    if (mode === 'avg') {
      if (c.count === undefined) throw missing(what, c, 'count');
      counts = floats(c.count, what);
      if (counts.len !== r.hs.length) {
        throw new StrataError(
          'ERR_TSDB_CORRUPT',
          `${what}: histogram chunk [${c.minTime}, ${c.maxTime}] has ${r.hs.length} sums but ${counts.len} counts`,
        );
      }
    }
    for (let i = 0; i < r.hs.length; i++) {
      let h = cloneHistogram(r.hs[i]!);
      if (counts !== undefined) h = divHistogram(h, bitsToFloat(counts.hi[i]!, counts.lo[i]!));
      h.counterResetHint = mode === 'counter' ? HINT_UNKNOWN : HINT_GAUGE;
      keep(r.ts[i]!, h);
    }
  }
  if (ts.length === 0) return [];
  return encodeFloatHistogramChunks(ts, hs).map((e) => ({
    minTime: e.mint,
    maxTime: e.maxt,
    type: WIRE_FLOAT_HISTOGRAM,
    data: e.data,
  }));
}
