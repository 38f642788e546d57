/**
 * The store's choice of blocks by resolution (Thanos' getFor): the coarsest resolution within
 * max_resolution_window where it has blocks, gaps before, between and after filled from finer
 * levels, per external label set; window 0 reads raw blocks only. Also the AggrChunk built from
 * an aggregated chunk: only the requested aggregates, sub-chunk bytes as stored, a missing one
 * failing the request with ERR_STORE_AGGREGATE_MISSING.
 */
import { describe, expect, it } from 'vitest';
import { Aggr } from '../../gen/thanos/store/storepb/rpc_pb.js';
import { AggrChunkBuilder } from '../../src/store/aggr-out.js';
import { blocksForResolution, type ResolutionBlock } from '../../src/store/resolution.js';
import { encodeAggrChunk, RES_1H, RES_5M } from '../../src/tsdb/downsample/index.js';
import type { Labels } from '../../src/tsdb/labels.js';

const H = 3600_000;

interface FakeBlock extends ResolutionBlock {
  readonly name: string;
}

function block(name: string, fromH: number, toH: number, resolution: number, ext: Labels = []): FakeBlock {
  return { name, meta: { minTime: fromH * H, maxTime: toH * H }, resolution, extLabels: ext };
}

/** Raw 2h blocks over [0, 24h), a 5m block over [10h, 20h), a 1h block over [0h, 12h). */
const raw = Array.from({ length: 12 }, (_, i) => block(`raw${2 * i}`, 2 * i, 2 * i + 2, 0));
const fiveM = block('5m', 10, 20, RES_5M);
const oneH = block('1h', 0, 12, RES_1H);

const names = (bs: readonly FakeBlock[]): string[] => bs.map((b) => b.name);

describe('blocksForResolution (Thanos getFor)', () => {
  it('window 0 (and any window below 5m) reads raw blocks only', () => {
    for (const w of [0, RES_5M - 1]) {
      expect(names(blocksForResolution([...raw, fiveM, oneH], 0, 24 * H - 1, w))).toEqual(names(raw));
    }
  });

  it('window 5m: the 5m block where it exists, raw before and after it', () => {
    const got = names(blocksForResolution([...raw, fiveM], 0, 24 * H - 1, RES_5M));
    expect(got).toEqual(['raw0', 'raw2', 'raw4', 'raw6', 'raw8', '5m', 'raw20', 'raw22']);
  });

  it('window 1h: the 1h block, then 5m for the rest of its range, then raw', () => {
    const got = names(blocksForResolution([...raw, fiveM, oneH], 0, 24 * H - 1, 2 * RES_1H));
    // 5m's [10h, 20h) overlaps the 1h block's end: it is chosen for the gap from 12h (as Thanos).
    expect(got).toEqual(['1h', '5m', 'raw20', 'raw22']);
  });

  it('a request inside the gap after the 5m block reads raw; one inside the 5m block reads 5m only', () => {
    expect(names(blocksForResolution([...raw, fiveM], 21 * H, 23 * H, RES_5M))).toEqual(['raw20', 'raw22']);
    expect(names(blocksForResolution([...raw, fiveM], 12 * H, 15 * H, RES_5M))).toEqual(['5m']);
  });

  it('external label sets are chosen for separately', () => {
    const other = [{ name: 'src', value: 'b' }];
    const b = [block('b-raw0', 0, 2, 0, other), block('b-raw2', 2, 4, 0, other)];
    const got = names(
      blocksForResolution([...raw.slice(0, 2), block('a-5m', 0, 4, RES_5M), ...b], 0, 4 * H - 1, RES_5M),
    );
    expect(got.sort()).toEqual(['a-5m', 'b-raw0', 'b-raw2']);
  });
});

describe('AggrChunkBuilder', () => {
  const sub = (n: number): Uint8Array => Uint8Array.from([0, 0, n]);
  const data = encodeAggrChunk([sub(1), sub(2), undefined, sub(4), sub(5)]);

  it('sends the requested aggregates as stored and ignores RAW', () => {
    const c = new AggrChunkBuilder([Aggr.RAW, Aggr.MAX, Aggr.COUNT]).build(
      { minTime: 1, maxTime: 2, type: 0, data, aggregated: true },
      'test',
    );
    expect(c.raw).toBeUndefined();
    expect([...c.count!.data]).toEqual([0, 0, 1]);
    expect([...c.max!.data]).toEqual([0, 0, 4]);
    expect(c.count!.type).toBe(0);
    expect(c.sum ?? c.min ?? c.counter).toBeUndefined();
  });

  it('fails on a requested aggregate the chunk lacks', () => {
    const b = new AggrChunkBuilder([Aggr.MIN]);
    expect(() => b.build({ minTime: 1, maxTime: 2, type: 0, data, aggregated: true }, 'blk')).toThrow(
      expect.objectContaining({ code: 'ERR_STORE_AGGREGATE_MISSING' }),
    );
  });

  it('passes raw chunks in raw', () => {
    const c = new AggrChunkBuilder([Aggr.MIN]).build(
      { minTime: 1, maxTime: 2, type: 0, data: sub(9) },
      'blk',
    );
    expect([...c.raw!.data]).toEqual([0, 0, 9]);
    expect(c.min).toBeUndefined();
  });
});
