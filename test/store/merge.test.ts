import { describe, expect, it } from 'vitest';
import { ChunkMerger, mergeBlockSeries, type MergedSeries } from '../../src/store/merge.js';
import { withoutLabels } from '../../src/store/select.js';
import type { RawChunk } from '../../src/store/chunks.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import { encodeXorChunks } from '../../src/tsdb/chunkenc/encode.js';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { ENC_FLOAT_HISTOGRAM, ENC_HISTOGRAM, ENC_XOR } from '../../src/tsdb/chunkenc/encoding.js';
import {
  decodeFloatHistogramChunk,
  decodeHistogramChunk,
  encodeFloatHistogramChunks,
  encodeHistogramChunks,
} from '../../src/tsdb/chunkenc/histogram.js';
import { genSeries, toFloatHistograms, toHistograms } from '../../src/tsdb/synth/histograms.js';

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

  it('histogram chunks pass through typed HISTOGRAM / FLOAT_HISTOGRAM; overlapping ones are merged into histogram chunks', () => {
    const g = genSeries(3, { samples: 200, step: 15_000, t0: 1_000_000, grow: 0.02 });
    const hs = toHistograms(g);
    const fhs = toFloatHistograms(g);
    const a = encodeHistogramChunks(g.ts.slice(0, 120), hs.slice(0, 120))[0]!;
    const b = encodeHistogramChunks(g.ts.slice(60, 180), hs.slice(60, 180))[0]!;
    const f = encodeFloatHistogramChunks(g.ts.slice(190), fhs.slice(190))[0]!;
    const raw = new Map<string, RawChunk>([
      ['0/1', { encoding: ENC_HISTOGRAM, data: a.data }],
      ['1/1', { encoding: ENC_HISTOGRAM, data: b.data }],
      ['0/2', { encoding: ENC_FLOAT_HISTOGRAM, data: f.data }],
    ]);
    const lookup = (blk: number, ref: number): RawChunk => raw.get(`${blk}/${ref}`)!;
    const m = new ChunkMerger();
    const single = m.resolve(
      { labels: L('a', '1'), chunks: [{ block: 0, meta: { mint: a.mint, maxt: a.maxt, ref: 1 } }] },
      lookup,
      'test',
    );
    expect(single).toEqual([{ minTime: a.mint, maxTime: a.maxt, type: 1, data: a.data }]);
    const out = m.resolve(
      {
        labels: L('a', '1'),
        chunks: [
          { block: 0, meta: { mint: a.mint, maxt: a.maxt, ref: 1 } },
          { block: 1, meta: { mint: b.mint, maxt: b.maxt, ref: 1 } },
          { block: 0, meta: { mint: f.mint, maxt: f.maxt, ref: 2 } },
        ],
      },
      lookup,
      'test',
    );
    expect(m.merged).toBe(2);
    expect(out.map((c) => c.type)).toEqual([1, 1, 2]);
    expect(out[2]!.data).toBe(f.data);
    const ts = out.slice(0, 2).flatMap((c) => Array.from(decodeHistogramChunk(c.data).ts));
    expect(ts).toEqual(g.ts.slice(0, 180));
    expect(Array.from(decodeFloatHistogramChunk(out[2]!.data).ts)).toEqual(g.ts.slice(190));
  });
});
