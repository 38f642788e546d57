import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignSubLanes, flagOverlaps } from '../../src/web/blocks-lanes.js';
import { FLAGS, TenantIndex } from '../../src/web/blocks-index.js';
import { parseBlockQuery } from '../../src/web/blocks-query.js';
const { deletion: FLAG_DELETION, overlap: FLAG_OVERLAP } = FLAGS;
import type { BlockMeta } from '../../src/tsdb/meta.js';

const H = 3600_000;

function meta(
  i: number,
  minTime: number,
  maxTime: number,
  level = 1,
  labels: Record<string, string> = {},
  res = 0,
): BlockMeta {
  const ulid = `01H${String(i).padStart(23, '0')}`;
  return {
    ulid,
    minTime,
    maxTime,
    version: 1,
    stats: { numSeries: 1, numSamples: 10, numChunks: 1, numTombstones: 0 },
    compaction: { level, sources: [ulid] },
    thanos: { labels, downsample: { resolution: res }, source: 'test' },
  } as BlockMeta;
}

const none = new Map<never, never>();

describe('blocks index', () => {
  it('sub-lanes: no two blocks of a sub-lane overlap, every block placed once, fewest lanes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 30 })), {
          maxLength: 60,
        }),
        (xs) => {
          const minT = xs.map(([a]) => a);
          const maxT = xs.map(([a, d]) => a + d);
          const order = xs.map((_, i) => i).sort((a, b) => minT[a]! - minT[b]!);
          const out = new Int32Array(xs.length).fill(-1);
          const used = assignSubLanes({ minT, maxT }, order, out);
          for (let i = 0; i < xs.length; i++) {
            expect(out[i]).toBeGreaterThanOrEqual(0);
            expect(out[i]).toBeLessThan(used);
            for (let j = i + 1; j < xs.length; j++)
              if (out[i] === out[j]) expect(minT[i]! < maxT[j]! && minT[j]! < maxT[i]!).toBe(false);
          }
          // The fewest lanes possible: the deepest point of overlap.
          let depth = 0;
          for (const t of minT)
            depth = Math.max(depth, xs.filter((_, i) => minT[i]! <= t && t < maxT[i]!).length);
          expect(used).toBe(depth);
        },
      ),
    );
  });

  it('overlap flags: exactly the blocks overlapping another one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 30 })), {
          maxLength: 40,
        }),
        (xs) => {
          const minT = xs.map(([a]) => a);
          const maxT = xs.map(([a, d]) => a + d);
          const order = xs.map((_, i) => i).sort((a, b) => minT[a]! - minT[b]!);
          const out = new Uint8Array(xs.length);
          flagOverlaps({ minT, maxT }, order, out, 8);
          for (let i = 0; i < xs.length; i++) {
            const want = xs.some((_, j) => j !== i && minT[i]! < maxT[j]! && minT[j]! < maxT[i]!);
            expect(out[i] === 8, `block ${i}`).toBe(want);
          }
        },
      ),
    );
  });

  const metas = [
    meta(1, 0, 2 * H, 1, { replica: 'a' }),
    meta(2, 0, 2 * H, 1, { replica: 'b' }),
    meta(3, 2 * H, 4 * H, 1, { replica: 'a' }),
    meta(4, H, 3 * H, 1, { replica: 'a' }), // overlaps 1 and 3 (same labels)
    meta(5, 0, 8 * H, 2, { replica: 'a' }), // overlaps 1, 3, 4 in the same compaction group
    meta(6, 0, 8 * H, 1, { replica: 'a' }, 300_000),
  ];
  const idx = new TenantIndex({
    metas,
    deletion: new Map([
      [metas[1]!.ulid, { kind: 'deletion', id: metas[1]!.ulid, version: 1, deletionTime: 5 } as const],
    ]),
    noCompact: none,
    partial: [],
  });
  const q = (s: string) => parseBlockQuery(new URLSearchParams(s));

  it('filters, counts and pages in one pass', () => {
    expect(idx.page(q('')).total).toBe(6);
    expect(idx.page(q('level=2')).metas.map((m) => m.ulid)).toEqual([metas[4]!.ulid]);
    expect(idx.page(q('resolution=300000')).total).toBe(1);
    expect(idx.page(q('label=replica=b')).metas.map((m) => m.ulid)).toEqual([metas[1]!.ulid]);
    expect(idx.page(q(`min_time=${2 * H}&max_time=${3 * H}`)).total).toBe(4); // 3, 4, 5, 6; 1 and 2 end at 2h
    expect(idx.page(q(`q=${metas[3]!.ulid.toLowerCase()}`)).total).toBe(1);
    expect(idx.page(q('q=01H')).total).toBe(6);
    const p = idx.page(q('limit=2&offset=2&sort=-ulid'));
    expect(p.total).toBe(6);
    expect(p.metas.map((m) => m.ulid)).toEqual([metas[3]!.ulid, metas[2]!.ulid]);
  });

  it('lanes by (resolution, level) with sub-lanes; overlaps and markers flagged', () => {
    const tl = idx.timeline({ labels: [] }, 100, 't', 'now');
    expect(tl.lanes.map((l) => [l.resolution, l.level, l.count, l.subLanes])).toEqual([
      [0, 1, 4, 3],
      [0, 2, 1, 1],
      [300_000, 1, 1, 1],
    ]);
    const flags = new Map(tl.lanes.flatMap((l) => l.blocks.map((b) => [b[0], b[3]] as const)));
    expect(flags.get(metas[1]!.ulid)).toBe(FLAG_DELETION);
    for (const i of [0, 2, 3, 4]) expect(flags.get(metas[i]!.ulid)! & FLAG_OVERLAP).toBe(FLAG_OVERLAP);
    expect(flags.get(metas[5]!.ulid)).toBe(0);
    const thin = idx.timeline({ labels: [] }, 2, 't', 'now');
    expect(thin.total).toBe(6);
    expect(thin.omitted).toBe(4);
    expect(thin.lanes.reduce((s, l) => s + l.count, 0)).toBe(6);
  });

  it('refuses bad parameters, naming them', () => {
    for (const [s, re] of [
      ['limit=0', /parameter limit: 0 is out of range \[1, 5000\]/],
      ['limit=5001', /parameter limit: 5001 is out of range/],
      ['offset=-1', /parameter offset/],
      ['level=x', /parameter level: "x" is not an integer/],
      ['min_time=10&max_time=5', /parameter min_time: 10 is after max_time 5/],
      ['label=novalue', /parameter label: "novalue" is not name=value/],
      ['q=not-a-ulid', /parameter q: /],
      ['sort=size', /parameter sort: "size" is not one of/],
      ['limit=1&limit=2', /parameter limit: given more than once/],
    ] as const)
      expect(() => q(s), s).toThrow(re);
  });
});
