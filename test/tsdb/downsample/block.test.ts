/**
 * downsampleBlock end to end on synthetic blocks: raw → 5m → 1h; the outputs pass `verifyBlock`,
 * their metas are Thanos' (resolution, level, sources, labels kept, new ULID, source compactor),
 * and each series' count/sum/min/max equal a direct computation over the raw samples per window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { BlockReader } from '../../../src/tsdb/block/reader.js';
import { verifyBlock } from '../../../src/tsdb/verify/verify.js';
import { writeSynthBlocks } from '../../../src/tsdb/synth/write.js';
import {
  AGGR_COUNT,
  AGGR_MAX,
  AGGR_MIN,
  AGGR_SUM,
  RES_1H,
  RES_5M,
  downsampleBlock,
  type AggrType,
} from '../../../src/tsdb/downsample/index.js';
import { readBlockSeries, type BlockSeries } from '../../support/block-series.js';
import { tempDir } from '../helpers.js';
import { generateSamples } from '../../support/openmetrics.js';
import { W0, promtoolBlocks } from '../../compact/helpers.js';

/**
 * Direct computation per 5m window over the raw samples (NaNs dropped; min/max by comparison from
 * ±MaxFloat64 as Thanos does) against the downsampled block's count/sum/min/max. Returns the
 * aggregates read and the number of series checked.
 */
async function checkWindows(rawDir: string, dsDir: string): Promise<BlockSeries[]> {
  const rawSeries = await readBlockSeries(rawDir);
  const got = await Promise.all(
    [AGGR_COUNT, AGGR_SUM, AGGR_MIN, AGGR_MAX].map((a) => readBlockSeries(dsDir, a as AggrType)),
  );
  let checked = 0;
  for (const [name, s] of rawSeries) {
    const want = new Map<number, [number, number, number, number]>();
    for (let i = 0; i < s.ts.length; i++) {
      const v = s.vs[i]!;
      if (Number.isNaN(v)) continue;
      const w = Math.floor(s.ts[i]! / RES_5M);
      const e = want.get(w) ?? [0, 0, Number.MAX_VALUE, -Number.MAX_VALUE];
      e[0]++;
      e[1] += v;
      if (v < e[2]) e[2] = v;
      if (v > e[3]) e[3] = v;
      want.set(w, e);
    }
    const [cnt, sum, min, max] = got.map((g) => g.get(name));
    if (want.size === 0) {
      expect(cnt).toBeUndefined();
      continue;
    }
    expect(cnt!.ts.map((t) => Math.floor(t / RES_5M))).toEqual([...want.keys()]);
    expect(cnt!.vs).toEqual([...want.values()].map((e) => e[0]));
    expect(sum!.vs).toEqual([...want.values()].map((e) => e[1]));
    expect(min!.vs).toEqual([...want.values()].map((e) => e[2]));
    expect(max!.vs).toEqual([...want.values()].map((e) => e[3]));
    checked++;
  }
  expect(checked).toBeGreaterThan(rawSeries.size / 2);
  return got;
}

describe('downsampleBlock', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let raw: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('strata-ds-'));
    const blocks = await writeSynthBlocks({
      outDir: join(dir, 'raw'),
      series: 40,
      hours: 48,
      seed: 7,
      startMs: Date.UTC(2026, 0, 1),
      blockRangeMs: 48 * 3600_000,
    });
    expect(blocks).toHaveLength(1);
    raw = blocks[0]!.dir;
  });
  afterAll(async () => cleanup());

  it('raw → 5m → 1h: verified blocks with Thanos metas and exact count/sum/min/max per window', async () => {
    const r5 = await downsampleBlock(raw, join(dir, '5m'), { resolution: RES_5M });
    expect(r5.meta).toBeDefined();
    const m5 = r5.meta!;
    const rawMeta = await BlockReader.open(raw).then(async (b) => {
      await b.close();
      return b.meta;
    });
    expect(m5.ulid).not.toBe(rawMeta.ulid);
    expect(m5.minTime).toBe(rawMeta.minTime);
    expect(m5.maxTime).toBe(rawMeta.maxTime);
    expect(m5.compaction.level).toBe(rawMeta.compaction.level);
    expect(m5.compaction.sources).toEqual(rawMeta.compaction.sources);
    expect(m5.thanos?.downsample.resolution).toBe(RES_5M);
    expect(m5.thanos?.source).toBe('compactor');
    expect(m5.thanos?.labels).toEqual(rawMeta.thanos?.labels);
    expect(m5.stats.numSamples).toBe(r5.outputSamples);
    const v5 = await verifyBlock(r5.dir!);
    expect(v5.problems.filter((p) => p.severity === 'error')).toEqual([]);

    const got = await checkWindows(raw, r5.dir!);

    const r1 = await downsampleBlock(r5.dir!, join(dir, '1h'), { resolution: RES_1H });
    expect(r1.meta?.thanos?.downsample.resolution).toBe(RES_1H);
    expect(r1.inputSamples).toBe(r5.outputSamples);
    const v1 = await verifyBlock(r1.dir!);
    expect(v1.problems.filter((p) => p.severity === 'error')).toEqual([]);
    // Counts are preserved through both passes.
    const c1 = await readBlockSeries(r1.dir!, AGGR_COUNT);
    for (const [name, c] of got[0]!) {
      const total = c.vs.reduce((a, b) => a + b, 0);
      expect(c1.get(name)!.vs.reduce((a, b) => a + b, 0)).toBe(total);
    }
  });

  it('refuses a target resolution not coarser than the input', async () => {
    const r5 = await downsampleBlock(raw, join(dir, '5m-again'), { resolution: RES_5M });
    await expect(downsampleBlock(r5.dir!, join(dir, 'x'), { resolution: RES_5M })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('downsamples a synthetic block with native histogram series (no longer refused)', async () => {
    const blocks = await writeSynthBlocks({
      outDir: join(dir, 'hist'),
      series: 2,
      histograms: 1,
      hours: 2,
      seed: 9,
      startMs: Date.UTC(2026, 0, 1),
    });
    const b = blocks[0]!;
    const r = await downsampleBlock(b.dir, join(dir, 'hist-out'), { resolution: RES_5M });
    expect(r.outputSeries).toBe(r.inputSeries);
    const v = await verifyBlock(r.dir!);
    expect(v.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('a block written by promtool (edge values: NaN, ±Inf, huge and tiny floats) downsamples to exact windows', async () => {
    const samples = generateSamples({ seed: 15, series: 16, startMs: W0, durationMs: 2 * 3600_000 });
    const [b] = await promtoolBlocks(samples, join(dir, 'promtool'));
    const r = await downsampleBlock(b!.dir, join(dir, 'promtool-5m'), { resolution: RES_5M });
    const v = await verifyBlock(r.dir!);
    expect(v.problems.filter((p) => p.severity === 'error')).toEqual([]);
    await checkWindows(b!.dir, r.dir!);
  });
});
