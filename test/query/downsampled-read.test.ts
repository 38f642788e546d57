/**
 * Reading downsampled answers in the querier (Thanos' querier semantics): aggregates from the
 * PromQL function, max_resolution_window from step and range, and aggregated chunks turned back
 * into samples (one aggregate; sum / count; the counter aggregate with resets applied across raw
 * and aggregated chunks; overlapping chunks keep only later samples).
 */
import { describe, expect, it } from 'vitest';
import { Aggr } from '../../gen/thanos/store/storepb/rpc_pb.js';
import {
  aggregatedToXor,
  aggrMode,
  aggrsFromFunc,
  resolutionWindow,
  type WireAggrChunk,
  type WireSubChunk,
} from '../../src/query/downsampled.js';
import { decodeSeries } from '../../src/query/merge.js';
import { encodeXorChunks } from '../../src/tsdb/chunkenc/encode.js';
import { bitsToFloat, floatHi, lastLo } from '../../src/tsdb/chunkenc/float-bits.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';

function xor(samples: readonly [number, number][]): WireSubChunk {
  const b = new SampleBuf();
  for (const [t, v] of samples) b.push(t, floatHi(v), lastLo());
  return { type: 0, data: encodeXorChunks(b, 1000)[0]!.data };
}

type Field = 'raw' | 'count' | 'sum' | 'min' | 'max' | 'counter';
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function chunk(fields: Partial<Record<Field, [number, number][]>>): WireAggrChunk {
  const all = Object.values(fields).flat();
  const out: Mutable<WireAggrChunk> = {
    minTime: BigInt(Math.min(...all.map(([t]) => t))),
    maxTime: BigInt(Math.max(...all.map(([t]) => t))),
  };
  for (const k of Object.keys(fields) as Field[]) out[k] = xor(fields[k]!);
  return out;
}

function samples(chunks: ReturnType<typeof aggregatedToXor>): [number, number][] {
  const b = new SampleBuf();
  decodeSeries(chunks, b, 'test');
  const out: [number, number][] = [];
  for (let i = 0; i < b.len; i++) out.push([b.ts[i]!, bitsToFloat(b.hi[i]!, b.lo[i]!)]);
  return out;
}

describe('aggregates and window from the remote-read hints', () => {
  it('aggrsFromFunc follows Thanos', () => {
    expect(aggrsFromFunc('min_over_time')).toEqual([Aggr.MIN]);
    expect(aggrsFromFunc('max')).toEqual([Aggr.MAX]);
    expect(aggrsFromFunc('count_over_time')).toEqual([Aggr.COUNT]);
    expect(aggrsFromFunc('sum_over_time')).toEqual([Aggr.SUM]);
    expect(aggrsFromFunc('sum')).toEqual([Aggr.COUNT, Aggr.SUM]);
    for (const f of ['rate', 'increase', 'irate', 'resets']) expect(aggrsFromFunc(f)).toEqual([Aggr.COUNTER]);
    expect(aggrsFromFunc('')).toEqual([Aggr.COUNT, Aggr.SUM]);
    expect(aggrsFromFunc('avg_over_time')).toEqual([Aggr.COUNT, Aggr.SUM]);
  });

  it('window: step / 5 with auto-downsampling, capped at range / 2 for two-sample functions', () => {
    expect(resolutionWindow(false, 3600_000, 0, '')).toBe(0);
    expect(resolutionWindow(true, 3600_000, 0, '')).toBe(720_000);
    expect(resolutionWindow(true, 0, 0, '')).toBe(0);
    expect(resolutionWindow(true, 3600_000, 300_000, 'rate')).toBe(150_000);
    expect(resolutionWindow(true, 3600_000, 300_000, 'max_over_time')).toBe(720_000);
  });

  it('aggrMode: one aggregate or count+sum', () => {
    expect(aggrMode([Aggr.SUM, Aggr.COUNT])).toBe('avg');
    expect(aggrMode([])).toBe('avg');
    expect(aggrMode([Aggr.COUNTER])).toBe('counter');
    expect(() => aggrMode([Aggr.MIN, Aggr.MAX])).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });
});

describe('aggregatedToXor', () => {
  it('one aggregate: its values, raw chunks as they are, overlapping samples dropped', () => {
    const got = aggregatedToXor(
      [
        chunk({
          max: [
            [299_999, 5],
            [599_999, 7],
          ],
          min: [
            [299_999, 1],
            [599_999, 2],
          ],
        }),
        chunk({
          raw: [
            [500_000, 100],
            [600_000, 8],
            [660_000, 9],
          ],
        }),
      ],
      [Aggr.MAX],
      'test',
    );
    expect(samples(got)).toEqual([
      [299_999, 5],
      [599_999, 7],
      [600_000, 8],
      [660_000, 9],
    ]);
  });

  it('count + sum: the average per window', () => {
    const got = aggregatedToXor(
      [
        chunk({
          count: [
            [299_999, 4],
            [599_999, 5],
          ],
          sum: [
            [299_999, 10],
            [599_999, 15],
          ],
        }),
      ],
      [Aggr.COUNT, Aggr.SUM],
      'test',
    );
    expect(samples(got)).toEqual([
      [299_999, 2.5],
      [599_999, 3],
    ]);
  });

  it('counter: resets applied across raw and aggregated chunks; the repeated last point only carries the last raw value', () => {
    const got = aggregatedToXor(
      [
        chunk({
          raw: [
            [0, 10],
            [60_000, 20],
            [120_000, 5],
          ],
        }),
        // Counter sub-chunk: running totals, then the last raw value at the last window's time.
        chunk({
          counter: [
            [180_000, 8],
            [299_999, 15],
            [599_999, 30],
            [599_999, 3],
          ],
        }),
        chunk({
          counter: [
            [600_000, 4],
            [899_999, 10],
          ],
        }),
      ],
      [Aggr.COUNTER],
      'test',
    );
    expect(samples(got)).toEqual([
      [0, 10],
      [60_000, 20],
      [120_000, 25],
      [180_000, 28],
      [299_999, 35],
      [599_999, 50],
      // 4 ≥ the last raw value 3: no reset, +1.
      [600_000, 51],
      [899_999, 57],
    ]);
  });

  it('a chunk without the requested aggregate fails with ERR_STORE_AGGREGATE_MISSING', () => {
    expect(() => aggregatedToXor([chunk({ min: [[1, 1]] })], [Aggr.MAX], 'test')).toThrow(
      expect.objectContaining({ code: 'ERR_STORE_AGGREGATE_MISSING' }),
    );
  });
});
