/**
 * Golden cases for native histogram downsampling, computed by hand (the stored version of Thanos'
 * downsample_test.go has no histogram cases): a counter histogram series with a schema decrease
 * (1 → 0, not a reset) and a counter reset, raw → windows of 100 ms in one chunk, then those
 * windows → one window of 1000 ms; and a gauge histogram series (gauge headers, no reset logic).
 */
import { describe, expect, it } from 'vitest';
import type { EncodedChunk } from '../../../src/tsdb/chunkenc/encode.js';
import { bitsToFloat } from '../../../src/tsdb/chunkenc/float-bits.js';
import { HEADER_GAUGE, HEADER_UNKNOWN } from '../../../src/tsdb/chunkenc/hist-meta.js';
import {
  AGGR_COUNT,
  AGGR_COUNTER,
  AGGR_MAX,
  AGGR_MIN,
  AGGR_SUM,
  AggrDownsampler,
  AggrParts,
  HistRawDownsampler,
  HistSeries,
  decodeAggrHistograms,
  decodeAggrInto,
  splitAggrChunk,
} from '../../../src/tsdb/downsample/index.js';
import { SampleBuf } from '../../../src/tsdb/samples/sample-buf.js';
import { HINT_GAUGE, newFloatHistogram, type FloatHistogram } from '../../../src/tsdb/histogram/types.js';

/** [t, schema, count, sum, {bucket index: count}] */
type H = [number, number, number, number, Record<number, number>];
/** Expected per window: [t, count, sum, {bucket index: count}] at schema 0. */
type W = [number, number, number, Record<number, number>];

function fh(
  schema: number,
  count: number,
  sum: number,
  b: Record<number, number>,
  gauge = false,
): FloatHistogram {
  const h = newFloatHistogram();
  h.schema = schema;
  h.count = count;
  h.sum = sum;
  if (gauge) h.counterResetHint = HINT_GAUGE;
  const idx = Object.keys(b)
    .map(Number)
    .sort((x, y) => x - y);
  h.positiveSpans = idx.map((i, k) => ({ offset: k === 0 ? i : i - idx[k - 1]! - 1, length: 1 }));
  h.positiveBuckets = Float64Array.from(idx.map((i) => b[i]!));
  return h;
}

function series(hs: readonly H[], gauge = false): HistSeries {
  const s = new HistSeries();
  for (const [t, schema, c, sum, b] of hs) s.push(t, fh(schema, c, sum, b, gauge));
  return s;
}

function buckets(h: FloatHistogram): Record<number, number> {
  const out: Record<number, number> = {};
  let i = 0;
  let k = 0;
  for (const sp of h.positiveSpans) {
    i += sp.offset;
    for (let j = 0; j < sp.length; j++, i++, k++)
      if (h.positiveBuckets[k] !== 0) out[i] = h.positiveBuckets[k]!;
  }
  return out;
}

interface Got {
  counts: [number, number][];
  sum: W[];
  counter: W[];
  sumHeader: number;
  counterHeader: number;
}

function read(c: EncodedChunk, schema = 0): Got {
  const parts = new AggrParts();
  splitAggrChunk(c.data, parts, 't', 0);
  expect(parts.has(AGGR_MIN) || parts.has(AGGR_MAX)).toBe(false);
  const b = new SampleBuf();
  decodeAggrInto(c.data, parts, AGGR_COUNT, b, 't', 0);
  const sum = decodeAggrHistograms(c.data, parts, AGGR_SUM, 't', 0)!;
  const ctr = decodeAggrHistograms(c.data, parts, AGGR_COUNTER, 't', 0)!;
  const w = (d: typeof sum): W[] =>
    d.hs.map((h, i): W => {
      expect(h.schema).toBe(schema);
      return [d.ts[i]!, h.count, h.sum, buckets(h)];
    });
  return {
    counts: Array.from({ length: b.len }, (_, i): [number, number] => [
      b.ts[i]!,
      bitsToFloat(b.hi[i]!, b.lo[i]!),
    ]),
    sum: w(sum),
    counter: w(ctr),
    sumHeader: sum.header,
    counterHeader: ctr.header,
  };
}

const COUNTER: H[] = [
  [20, 1, 2, 3, { 1: 1, 2: 1 }],
  [40, 1, 4, 6, { 1: 2, 2: 2 }],
  [60, 0, 5, 8, { 1: 4, 2: 1 }], // schema 1 → 0: buckets 1, 2 of schema 1 are bucket 1 of schema 0
  [120, 0, 1, 1, { 1: 1 }], // counter reset
  [150, 0, 3, 4, { 1: 2, 2: 1 }],
  [210, 0, 6, 9, { 1: 3, 2: 3 }],
];

describe('native histogram downsampling golden cases', () => {
  it('counter histogram: count, sum and counter per window; schema decrease is no reset, a count drop is', () => {
    const out: EncodedChunk[] = [];
    expect(new HistRawDownsampler().downsample(series(COUNTER), 100, out, 1)).toBe(3);
    expect(out).toHaveLength(1);
    expect([out[0]!.mint, out[0]!.maxt, out[0]!.numSamples]).toEqual([99, 210, 3]);
    const g = read(out[0]!);
    expect(g.counts).toEqual([
      [99, 3],
      [199, 2],
      [210, 1],
    ]);
    expect(g.sum).toEqual([
      [99, 11, 17, { 1: 10, 2: 1 }],
      [199, 4, 5, { 1: 3, 2: 1 }],
      [210, 6, 9, { 1: 3, 2: 3 }],
    ]);
    expect(g.counter).toEqual([
      [99, 5, 8, { 1: 4, 2: 1 }],
      [199, 8, 12, { 1: 6, 2: 2 }],
      [210, 11, 17, { 1: 7, 2: 4 }],
    ]);
    expect(g.sumHeader).toBe(HEADER_GAUGE);
    expect(g.counterHeader).toBe(HEADER_UNKNOWN);

    // Those windows → one window of 1000 ms (capped at the last window end, 210).
    const out1: EncodedChunk[] = [];
    new AggrDownsampler().downsample(
      out.map((c) => ({ data: c.data, mint: c.mint, maxt: c.maxt, file: 't', dataOffset: 0 })),
      100,
      1000,
      out1,
      1,
    );
    const g1 = read(out1[0]!);
    expect(g1.counts).toEqual([[210, 6]]);
    expect(g1.sum).toEqual([[210, 21, 31, { 1: 16, 2: 5 }]]);
    expect(g1.counter).toEqual([[210, 11, 17, { 1: 7, 2: 4 }]]);
  });

  it('gauge histogram: sums per window, gauge headers on sum and counter', () => {
    const gauge: H[] = [
      [10, 0, 5, 5, { 0: 5 }],
      [50, 0, 2, 2, { 1: 2 }],
      [150, 0, 3, 3, { 0: 1, 1: 2 }],
    ];
    const out: EncodedChunk[] = [];
    new HistRawDownsampler().downsample(series(gauge, true), 100, out, 1);
    const g = read(out[0]!);
    expect(g.counts).toEqual([
      [99, 2],
      [150, 1],
    ]);
    expect(g.sum).toEqual([
      [99, 7, 7, { 0: 5, 1: 2 }],
      [150, 3, 3, { 0: 1, 1: 2 }],
    ]);
    expect(g.sumHeader).toBe(HEADER_GAUGE);
    expect(g.counterHeader).toBe(HEADER_GAUGE);
  });

  it('stale markers and NaN sums are dropped; a series of only those writes nothing', () => {
    const s = series(COUNTER.slice(0, 2));
    const nan = fh(0, 0, NaN, {});
    s.push(70, nan);
    const out: EncodedChunk[] = [];
    new HistRawDownsampler().downsample(s, 100, out, 1);
    // The batch's last timestamp is that of its last sample kept: 40.
    expect(read(out[0]!, 1).counts).toEqual([[40, 2]]);
    const only = new HistSeries();
    only.push(10, nan);
    const none: EncodedChunk[] = [];
    expect(new HistRawDownsampler().downsample(only, 100, none)).toBe(0);
    expect(none).toEqual([]);
  });
});
