/**
 * decodeSeries: chunks in time order are appended, overlapping or unordered ones merged; either
 * way the result equals the exact merge of every chunk (later chunk wins a shared timestamp).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { encodeXorChunks } from '../../src/tsdb/chunkenc/encode.js';
import { ENC_XOR } from '../../src/tsdb/chunkenc/encoding.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { mergeExact } from '../../src/tsdb/samples/dedup.js';
import { decodeSeries, WIRE_XOR, type WireChunk } from '../../src/query/merge.js';
import { bufPoints, samples } from './support.js';

function chunksOf(points: readonly (readonly [number, number])[], perChunk: number): WireChunk[] {
  return encodeXorChunks(samples(points), perChunk).map((c) => ({
    minTime: c.mint,
    maxTime: c.maxt,
    type: WIRE_XOR,
    data: c.data,
  }));
}

/** The reference: every chunk decoded on its own, then the k-way exact merge. */
function reference(chunks: readonly WireChunk[]): [number, number][] {
  const bufs = chunks.map((c) => {
    const b = new SampleBuf(1);
    decodeChunkInto({ encoding: ENC_XOR, data: c.data, dataOffset: 0 }, b, 'test');
    return b;
  });
  const out = new SampleBuf(1);
  mergeExact(bufs, out);
  return bufPoints(out);
}

function decoded(chunks: readonly WireChunk[]): [number, number][] {
  const out = new SampleBuf(1);
  out.push(-5, 0, 0); // stale content from an earlier call must go
  decodeSeries(chunks, out, 'test');
  return bufPoints(out);
}

describe('decodeSeries', () => {
  it('appends chunks that follow each other', () => {
    const pts = Array.from({ length: 1000 }, (_, i): [number, number] => [i * 15_000, i]);
    const chunks = chunksOf(pts, 120);
    expect(chunks.length).toBe(9);
    expect(decoded(chunks)).toEqual(pts);
  });

  it('merges overlapping chunks, the later one winning a shared timestamp', () => {
    const a = chunksOf(
      [
        [10, 1],
        [20, 2],
        [30, 3],
      ],
      120,
    );
    const b = chunksOf(
      [
        [30, 33],
        [40, 4],
      ],
      120,
    );
    const c = chunksOf([[5, 0.5]], 120);
    expect(decoded([...a, ...b])).toEqual([
      [10, 1],
      [20, 2],
      [30, 33],
      [40, 4],
    ]);
    // Out of order but disjoint: still sorted.
    expect(decoded([...b, ...c])).toEqual([
      [5, 0.5],
      [30, 33],
      [40, 4],
    ]);
    expect(decoded([])).toEqual([]);
  });

  it('equals the exact merge of all chunks for random chunk lists', () => {
    const arbChunk = fc
      .uniqueArray(fc.integer({ min: -500, max: 5000 }), { minLength: 1, maxLength: 30 })
      .chain((ts) =>
        fc.tuple(
          fc.constant([...ts].sort((x, y) => x - y)),
          fc.array(fc.double({ noNaN: true }), { minLength: ts.length, maxLength: ts.length }),
        ),
      )
      .map(
        ([ts, vs]) =>
          chunksOf(
            ts.map((t, i): [number, number] => [t, vs[i]!]),
            1000,
          )[0]!,
      );
    // Either arbitrary chunks (often overlapping) or one series cut into consecutive chunks.
    const arbList = fc.oneof(
      fc.array(arbChunk, { maxLength: 5 }),
      fc
        .tuple(fc.uniqueArray(fc.nat(100_000), { maxLength: 300 }), fc.integer({ min: 1, max: 50 }))
        .map(([ts, per]) =>
          chunksOf(
            [...ts].sort((x, y) => x - y).map((t): [number, number] => [t, t / 7]),
            per,
          ),
        ),
    );
    fc.assert(
      fc.property(arbList, (chunks) => {
        expect(decoded(chunks)).toEqual(reference(chunks));
      }),
      { numRuns: 300 },
    );
  });
});
