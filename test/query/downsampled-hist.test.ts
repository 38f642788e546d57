/**
 * Histogram aggregates through the Store API and back (in-process): aggregated chunks of a native
 * histogram series, as downsampling writes them, are sent by the store's AggrChunkBuilder (count
 * as XOR, sum and counter as FLOAT_HISTOGRAM, storepb types.proto Chunk.Encoding 2) and read back
 * by the querier: count → per-window counts, sum → the summed histograms, count+sum → the average
 * histogram (sum / count), counter → the running totals, min/max → refused (ERR_STORE_AGGREGATE_MISSING,
 * as Thanos' store does). A series whose chunks alternate float and histogram runs reads back
 * each run in its own form.
 */
import { describe, expect, it } from 'vitest';
import { Aggr } from '../../gen/thanos/store/storepb/rpc_pb.js';
import { Chunk_Encoding } from '../../gen/thanos/store/storepb/types_pb.js';
import { AggrChunkBuilder } from '../../src/store/aggr-out.js';
import { aggregatedToXor, type WireAggrChunk } from '../../src/query/downsampled.js';
import { decodeFloatHistogramChunk } from '../../src/tsdb/chunkenc/histogram-codec.js';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { ENC_XOR } from '../../src/tsdb/chunkenc/encoding.js';
import { bitsToFloat } from '../../src/tsdb/chunkenc/float-bits.js';
import type { EncodedChunk } from '../../src/tsdb/chunkenc/encode.js';
import {
  AGGR_COUNTER,
  AGGR_SUM,
  AggrParts,
  FloatSeries,
  HistRawDownsampler,
  HistSeries,
  RawDownsampler,
  decodeAggrHistograms,
  splitAggrChunk,
} from '../../src/tsdb/downsample/index.js';
import { HINT_GAUGE, newFloatHistogram, type FloatHistogram } from '../../src/tsdb/histogram/types.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';

const R5 = 300_000;

function hist(count: number, schema = 0): FloatHistogram {
  const h = newFloatHistogram();
  h.schema = schema;
  h.count = count;
  h.sum = count * 2;
  h.zeroCount = 1;
  h.positiveSpans = [{ offset: 0, length: 2 }];
  h.positiveBuckets = Float64Array.from([
    count - 1 - Math.floor((count - 1) / 2),
    Math.floor((count - 1) / 2),
  ]);
  return h;
}

/** A counter histogram growing by 2 every 60s for 30 minutes: 6 windows of 5 samples (one of 4, 6). */
function histChunks(): EncodedChunk[] {
  const s = new HistSeries();
  for (let i = 0; i < 30; i++) s.push(60_000 * (i + 1), hist(3 + 2 * i));
  const out: EncodedChunk[] = [];
  new HistRawDownsampler().downsample(s, R5, out, 2);
  return out;
}

function toWire(chunks: readonly EncodedChunk[], aggrs: Aggr[]): WireAggrChunk[] {
  const b = new AggrChunkBuilder(aggrs);
  return chunks.map((c) =>
    b.build({ minTime: c.mint, maxTime: c.maxt, type: 0, data: c.data, aggregated: true }, 'test'),
  );
}

function histSamples(chunks: ReturnType<typeof aggregatedToXor>): [number, FloatHistogram][] {
  return chunks.flatMap((c) => {
    expect(c.type).toBe(Chunk_Encoding.FLOAT_HISTOGRAM);
    const d = decodeFloatHistogramChunk(c.data);
    return d.hs.map((h, i): [number, FloatHistogram] => [d.ts[i]!, h]);
  });
}

function floatSamples(chunks: ReturnType<typeof aggregatedToXor>): [number, number][] {
  const b = new SampleBuf();
  const out: [number, number][] = [];
  for (const c of chunks) {
    expect(c.type).toBe(Chunk_Encoding.XOR);
    decodeChunkInto({ encoding: ENC_XOR, data: c.data, dataOffset: 0 }, b, 'test');
    for (let i = 0; i < b.len; i++) out.push([b.ts[i]!, bitsToFloat(b.hi[i]!, b.lo[i]!)]);
  }
  return out;
}

/** The stored sum (or counter) histograms of the chunks, by window end. */
function stored(chunks: readonly EncodedChunk[], a: 1 | 4): [number, FloatHistogram][] {
  const parts = new AggrParts();
  return chunks.flatMap((c) => {
    splitAggrChunk(c.data, parts, 't', 0);
    const d = decodeAggrHistograms(c.data, parts, a, 't', 0)!;
    return d.hs.map((h, i): [number, FloatHistogram] => [d.ts[i]!, h]);
  });
}

describe('histogram aggregates: store → querier', () => {
  const chunks = histChunks();

  it('the store sends count as XOR, sum and counter as FLOAT_HISTOGRAM, bytes as stored', () => {
    expect(chunks.length).toBe(2);
    const [w] = toWire(chunks, [Aggr.COUNT, Aggr.SUM, Aggr.COUNTER]);
    expect(w!.count!.type).toBe(Chunk_Encoding.XOR);
    expect(w!.sum!.type).toBe(Chunk_Encoding.FLOAT_HISTOGRAM);
    expect(w!.counter!.type).toBe(Chunk_Encoding.FLOAT_HISTOGRAM);
    const d = decodeFloatHistogramChunk(w!.sum!.data);
    expect([...d.ts]).toEqual(stored(chunks.slice(0, 1), AGGR_SUM).map(([t]) => t));
    expect(() => toWire(chunks, [Aggr.MAX])).toThrow(
      expect.objectContaining({ code: 'ERR_STORE_AGGREGATE_MISSING' }),
    );
  });

  it('count: per-window sample counts', () => {
    const got = floatSamples(aggregatedToXor(toWire(chunks, [Aggr.COUNT]), [Aggr.COUNT], 'test'));
    // Samples at 60s … 1800s: windows end at 299999 (4 samples), …, the last capped at 1800000.
    expect(got.map(([, v]) => v)).toEqual([4, 5, 5, 5, 5, 5, 1]);
    expect(got.reduce((a, [, v]) => a + v, 0)).toBe(30);
  });

  it('sum: the stored window sums, as gauge histograms', () => {
    const got = histSamples(aggregatedToXor(toWire(chunks, [Aggr.SUM]), [Aggr.SUM], 'test'));
    const want = stored(chunks, AGGR_SUM);
    expect(got.map(([t]) => t)).toEqual(want.map(([t]) => t));
    expect(got.map(([, h]) => [h.count, h.sum])).toEqual(want.map(([, h]) => [h.count, h.sum]));
    expect(got.every(([, h]) => h.counterResetHint === HINT_GAUGE)).toBe(true);
    // First window: samples 3, 5, 7, 9 → count 24, sum 48, zero count 4.
    expect([want[0]![1].count, want[0]![1].sum, want[0]![1].zeroCount]).toEqual([24, 48, 4]);
  });

  it('count + sum: the average histogram per window', () => {
    const got = histSamples(
      aggregatedToXor(toWire(chunks, [Aggr.COUNT, Aggr.SUM]), [Aggr.COUNT, Aggr.SUM], 'test'),
    );
    expect(got[0]![1].count).toBe(6);
    expect(got[0]![1].sum).toBe(12);
    expect(got[0]![1].zeroCount).toBe(1);
    expect([...got[0]![1].positiveBuckets].reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('counter: the running totals (they restart with each chunk)', () => {
    const got = histSamples(aggregatedToXor(toWire(chunks, [Aggr.COUNTER]), [Aggr.COUNTER], 'test'));
    const want = stored(chunks, AGGR_COUNTER);
    expect(got.map(([t, h]) => [t, h.count])).toEqual(want.map(([t, h]) => [t, h.count]));
    // A counter growing by 2 per minute: each window's total is the last raw count in it.
    expect(got[0]![1].count).toBe(9);
    expect(got[got.length - 1]![1].count).toBe(61);
  });

  it('a series alternating float and histogram runs reads back each run in its own form', () => {
    const fs = new FloatSeries(16);
    for (let i = 0; i < 10; i++) fs.push(1_900_000 + 60_000 * i, i);
    const fl: EncodedChunk[] = [];
    new RawDownsampler().downsample(fs, R5, fl);
    const wire = toWire([...chunks, ...fl], [Aggr.COUNT]);
    const got = aggregatedToXor(wire, [Aggr.COUNT], 'test');
    expect(floatSamples(got).reduce((a, [, v]) => a + v, 0)).toBe(40);
    const avg = aggregatedToXor(
      toWire([...chunks, ...fl], [Aggr.COUNT, Aggr.SUM]),
      [Aggr.COUNT, Aggr.SUM],
      'test',
    );
    expect(avg.map((c) => c.type)).toEqual([Chunk_Encoding.FLOAT_HISTOGRAM, Chunk_Encoding.XOR]);
  });
});
