import { describe, expect, it } from 'vitest';
import { ChunkMerger, mergeBlockSeries, type MergedSeries } from '../../src/store/merge.js';
import { withoutLabels } from '../../src/store/select.js';
import type { RawChunk } from '../../src/store/chunks.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { encodeXorChunks } from '../../src/tsdb/chunkenc/encode.js';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { ENC_XOR } from '../../src/tsdb/chunkenc/encoding.js';

const L = (...kv: string[]): { name: string; value: string }[] => {
  const out: { name: string; value: string }[] = [];
  for (let i = 0; i < kv.length; i += 2) out.push({ name: kv[i]!, value: kv[i + 1]! });
  return out;
};

function xor(ts: readonly number[]): RawChunk {
  const b = new SampleBuf();
  for (const t of ts) b.push(t, 0, 0);
  return { encoding: ENC_XOR, data: encodeXorChunks(b)[0]!.data };
}

function timestamps(data: Uint8Array): number[] {
  const b = new SampleBuf();
  decodeChunkInto({ encoding: ENC_XOR, data, dataOffset: 0 }, b, 'test');
  return Array.from(b.ts.subarray(0, b.len));
}

describe('store merge', () => {
  it('withoutLabels removes the named labels only', () => {
    const ls = L('a', '1', 'replica', 'r1', 'z', '2');
    expect(withoutLabels(ls, new Set(['replica']))).toEqual(L('a', '1', 'z', '2'));
    expect(withoutLabels(ls, new Set())).toBe(ls);
    expect(withoutLabels(ls, new Set(['missing']))).toBe(ls);
  });

  it('mergeBlockSeries combines equal label sets across and within blocks', () => {
    const c = (m: number): { mint: number; maxt: number; ref: number } => ({ mint: m, maxt: m + 1, ref: m });
    const merged = mergeBlockSeries([
      // Within block 0, two series became equal once a replica label was removed.
      [
        { labels: L('a', '1'), chunks: [c(1)] },
        { labels: L('a', '1'), chunks: [c(5)] },
        { labels: L('a', '2'), chunks: [c(2)] },
      ],
      [{ labels: L('a', '1'), chunks: [c(3)] }],
    ]);
    expect(merged.map((s) => [s.labels, s.chunks.map((x) => [x.block, x.meta.ref])])).toEqual([
      [
        L('a', '1'),
        [
          [0, 1],
          [1, 3],
          [0, 5],
        ],
      ],
      [L('a', '2'), [[0, 2]]],
    ]);
  });

  it('identical chunks of replica blocks are sent once as stored; different overlapping ones are merged', () => {
    const same = xor([10, 20, 30]);
    const copy: RawChunk = { encoding: same.encoding, data: same.data.slice() };
    const other = xor([15, 20, 25]);
    const raw = new Map<string, RawChunk>([
      ['0/1', same],
      ['1/1', copy],
      ['2/1', other],
    ]);
    const lookup = (b: number, ref: number): RawChunk => raw.get(`${b}/${ref}`)!;
    const meta = { mint: 10, maxt: 30, ref: 1 };
    const s: MergedSeries = {
      labels: L('a', '1'),
      chunks: [
        { block: 0, meta },
        { block: 1, meta },
      ],
    };
    const m = new ChunkMerger();
    const out = m.resolve(s, lookup, 'test');
    expect(out).toHaveLength(1);
    expect(out[0]!.data).toBe(same.data);
    expect(m.merged).toBe(0);

    const withOther: MergedSeries = {
      ...s,
      chunks: [...s.chunks, { block: 2, meta: { mint: 15, maxt: 25, ref: 1 } }],
    };
    const merged = m.resolve(withOther, lookup, 'test');
    expect(m.merged).toBe(2);
    expect(merged.flatMap((c) => timestamps(c.data))).toEqual([10, 15, 20, 25, 30]);
  });
});
