/**
 * The direct ReadResponse encoder against protobuf-es: the same message built as objects and
 * written by toBinary must give the same bytes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { create, toBinary } from '@bufbuild/protobuf';
import { ReadResponseSchema } from '../../gen/prometheus/prompb/remote_pb.js';
import { bitsToFloat } from '../../src/tsdb/chunkenc/float-bits.js';
import type { Labels } from '../../src/tsdb/labels.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { encodeReadResponse, type EncSeries } from '../../src/query/prompb-encode.js';

interface Point {
  readonly t: number;
  readonly hi: number;
  readonly lo: number;
}
interface RandSeries {
  readonly labels: Labels;
  readonly points: readonly Point[];
}

const STALE: [number, number] = [0x7ff00000, 0x00000002];
const SPECIAL_BITS: [number, number][] = [
  STALE,
  [0x7ff80000, 0], // canonical quiet NaN
  [0xfff80000, 0], // negative NaN
  [0x7ff00000, 0xdeadbeef], // signalling NaN with a payload
  [0x7fffffff, 0xffffffff],
  [0x7ff00000, 0], // +Inf
  [0xfff00000, 0], // -Inf
  [0x80000000, 0], // -0
  [0, 0], // +0: omitted on the wire
  [0, 1], // smallest subnormal
  [0x3ff80000, 0], // 1.5
];

const MAX = Number.MAX_SAFE_INTEGER;
const arbT = fc.oneof(
  fc.constantFrom(
    0,
    1,
    -1,
    127,
    128,
    -128,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 32,
    -(2 ** 32),
    1.7e12,
    -1.7e12,
    MAX,
    -MAX,
  ),
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  fc.integer({ min: -MAX, max: MAX }),
);
const arbBits = fc.oneof(
  fc.constantFrom(...SPECIAL_BITS),
  fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })),
);
const arbPoint = fc
  .record({ t: arbT, bits: arbBits })
  .map(({ t, bits }) => ({ t, hi: bits[0], lo: bits[1] }));
// 'binary' includes lone surrogates: both encoders write them as U+FFFD.
const arbString = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ maxLength: 200 }));
const arbSeries = fc.record({
  labels: fc.array(fc.record({ name: arbString, value: arbString }), { maxLength: 4 }),
  points: fc.array(arbPoint, { maxLength: 40 }),
});
const arbResults = fc.array(fc.array(arbSeries, { maxLength: 4 }), { maxLength: 4 });

function direct(results: readonly (readonly RandSeries[])[]): Buffer {
  const buf = new SampleBuf(1);
  const enc = results.map((list) =>
    list.map((s): EncSeries => {
      const from = buf.len;
      for (const p of s.points) buf.push(p.t, p.hi, p.lo);
      return { labels: s.labels, from, to: buf.len };
    }),
  );
  return encodeReadResponse(enc, buf);
}

function oracle(results: readonly (readonly RandSeries[])[]): Uint8Array {
  const msg = create(ReadResponseSchema, {
    results: results.map((list) => ({
      timeseries: list.map((s) => ({
        labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
        samples: s.points.map((p) => ({ value: bitsToFloat(p.hi, p.lo), timestamp: BigInt(p.t) })),
      })),
    })),
  });
  return toBinary(ReadResponseSchema, msg);
}

describe('encodeReadResponse', () => {
  it('writes the bytes protobuf-es writes for random responses', () => {
    fc.assert(
      fc.property(arbResults, (results) => {
        expect(Buffer.compare(direct(results), oracle(results))).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('covers empty responses, empty results and empty labels', () => {
    for (const results of [
      [],
      [[]],
      [[], []],
      [[{ labels: [], points: [] }]],
      [[{ labels: [{ name: '', value: '' }], points: [{ t: 0, hi: 0, lo: 0 }] }], []],
    ]) {
      expect(Buffer.compare(direct(results), oracle(results))).toBe(0);
    }
  });

  it('keeps the stale marker bit for bit and writes negative timestamps as 10-byte varints', () => {
    const out = direct([
      [{ labels: [{ name: 'a', value: 'ü' }], points: [{ t: -1, hi: STALE[0], lo: STALE[1] }] }],
    ]);
    // value: tag 0x09 then 0x7ff0000000000002 little-endian; timestamp: tag 0x10, 10-byte -1.
    const sample = [0x09, 2, 0, 0, 0, 0, 0, 0xf0, 0x7f, 0x10, ...Array<number>(9).fill(0xff), 0x01];
    const tail = [...out.subarray(out.length - sample.length)];
    expect(tail).toEqual(sample);
    expect(out[out.length - sample.length - 1]).toBe(sample.length);
  });
});
