/**
 * Downsampling and retention in `strata compact`: a bucket of 3 tenants × 52h of 2h blocks ends
 * with a 2d raw block and its 5m version per tenant (no 1h: nothing spans 10d), whose aggregates
 * equal the raw samples per series; a second pass adds nothing. Then raw retention 2d with 5m
 * retention 30d deletes raw blocks only once 5m blocks hold every one of their sources. A tenant
 * whose 48h block holds native histogram series next to float ones gets its 5m block too (count,
 * sum and counter for the histogram series), not a no-downsample mark.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { writeSynthBlocks } from '../../src/tsdb/synth/write.js';
import { AGGR_COUNT, AGGR_MAX, AGGR_MIN, AGGR_SUM } from '../../src/tsdb/downsample/aggr-chunk.js';
import {
  AGGR_COUNTER,
  AggrParts,
  HistSeries,
  decodeAggrHistograms,
  isHistogramAggr,
  readAggregate,
  splitAggrChunk,
} from '../../src/tsdb/downsample/index.js';
import { BlockReader } from '../../src/tsdb/block/reader.js';
import { decodeChunkInto } from '../../src/tsdb/chunkenc/chunk.js';
import { ENC_XOR } from '../../src/tsdb/chunkenc/encoding.js';
import { bitsToFloat } from '../../src/tsdb/chunkenc/float-bits.js';
import { formatLabels } from '../../src/tsdb/labels.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';
import type { BlockMeta } from '../../src/tsdb/meta.js';
import { ensureBuilt } from '../support/build.js';
import { readBlockSeries } from '../support/block-series.js';
import { assertNoLeakedProcesses } from '../support/processes.js';
import { setFirstChunkEncoding } from '../support/corrupt-chunk.js';
import { downloadBlocks, liveBlocks, readTenant, type TenantState } from './inspect.js';
import { compactArgs, filesystemObjstore, passSummaries, runStrataOk } from './run.js';
import { blockResolution } from '../../src/tsdb/group-key.js';

const H = 3_600_000;
const TWO_DAYS = 48 * H;
const FIVE_MIN = 300_000;
const TENANTS = ['alpha', 'beta', 'gamma'];
/** One 48h raw block whose first chunk has an encoding nobody knows (valid CRC). */
const BAD_TENANT = 'delta';
/** One 48h raw block with native histogram series. */
const HIST_TENANT = 'hist';
let histBlock = '';

let root = '';
let bucket: FilesystemBucket;
let start = 0;
let badBlock = '';
/** tenant → ULIDs of the 2h blocks written (every raw source there is). */
const written = new Map<string, string[]>();

function live(st: TenantState, resolution: number): BlockMeta[] {
  return liveBlocks(st)
    .map((b) => b.meta!)
    .filter((m) => blockResolution(m) === resolution)
    .sort((a, b) => a.minTime - b.minTime);
}

async function compact(extra: readonly string[]): Promise<Record<string, unknown>> {
  const r = await runStrataOk(
    compactArgs({
      objstore: filesystemObjstore(join(root, 'bucket')),
      dataDir: join(root, 'data'),
      extra: ['--downsampling.enable', '--debug.print-summary', ...extra],
    }),
  );
  const summaries = passSummaries(r.output);
  expect(summaries, r.output).toHaveLength(1);
  return summaries[0]!;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-downsample-'));
  bucket = new FilesystemBucket({ directory: join(root, 'bucket') });
  // Aligned to 2d and 20 days old: old enough for the retention phase.
  start = Math.floor((Date.now() - 20 * 24 * H) / TWO_DAYS) * TWO_DAYS;
  const [blocks] = await Promise.all([
    writeSynthBlocks({
      outDir: join(root, 'bucket'),
      series: 6,
      hours: 52,
      seed: 11,
      startMs: start,
      tenants: TENANTS,
    }),
    ensureBuilt(),
  ]);
  for (const b of blocks) written.set(b.tenant, [...(written.get(b.tenant) ?? []), b.meta.ulid]);
  const [bad] = await writeSynthBlocks({
    outDir: join(root, 'bucket'),
    series: 3,
    hours: 48,
    seed: 5,
    startMs: start,
    tenants: [BAD_TENANT],
    blockRangeMs: TWO_DAYS,
  });
  badBlock = bad!.meta.ulid;
  const [hist] = await writeSynthBlocks({
    outDir: join(root, 'bucket'),
    series: 2,
    histograms: 2,
    hours: 48,
    seed: 6,
    startMs: start,
    tenants: [HIST_TENANT],
    blockRangeMs: TWO_DAYS,
  });
  histBlock = hist!.meta.ulid;
  await setFirstChunkEncoding(join(bad!.dir, 'chunks', '000001'), 0x42);
}, 300_000);

afterAll(async () => {
  await bucket?.close();
  if (root) await rm(root, { recursive: true, force: true });
  await assertNoLeakedProcesses();
});

describe('strata compact --downsampling.enable', () => {
  it('writes the 5m version of every 2d raw block, with aggregates equal to the raw samples; a second pass adds nothing', async () => {
    const s = await compact([]);
    expect(s['downsampled']).toBe(TENANTS.length + 1);
    for (const tenant of TENANTS) {
      const st = await readTenant(bucket, tenant);
      for (const b of st.blocks.values()) expect(b.noCompactMark, `${tenant}/${b.ulid}`).toBeUndefined();
      expect(
        [...st.blocks.values()].flatMap((b) => b.objects.filter((o) => o.includes('no-downsample'))),
      ).toEqual([]);
      const raw = live(st, 0);
      const twoDay = raw.filter((m) => m.maxTime - m.minTime >= 40 * H);
      expect(
        twoDay.map((m) => [m.minTime, m.maxTime]),
        tenant,
      ).toEqual([[start, start + TWO_DAYS]]);
      const fiveMin = live(st, FIVE_MIN);
      expect(fiveMin, `${tenant}: 5m blocks`).toHaveLength(1);
      expect(live(st, 12 * FIVE_MIN), `${tenant}: 1h blocks`).toEqual([]);
      const [r, f] = [twoDay[0]!, fiveMin[0]!];
      expect([f.minTime, f.maxTime, f.compaction.level]).toEqual([r.minTime, r.maxTime, r.compaction.level]);
      expect([...f.compaction.sources].sort()).toEqual([...r.compaction.sources].sort());
      expect(f.thanos?.labels).toEqual(r.thanos?.labels);
      expect(f.thanos?.source).toBe('compactor');

      const [rawDir, fiveDir] = await downloadBlocks(
        bucket,
        tenant,
        [r.ulid, f.ulid],
        join(root, 'dl', tenant),
      );
      const samples = await readBlockSeries(rawDir!);
      const [count, sum, min, max] = await Promise.all(
        ([AGGR_COUNT, AGGR_SUM, AGGR_MIN, AGGR_MAX] as const).map((a) => readBlockSeries(fiveDir!, a)),
      );
      expect([...count!.keys()].sort()).toEqual([...samples.keys()].sort());
      for (const [series, raw5] of samples) {
        const total = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
        // NaN samples (stale markers among them) are dropped, as Thanos does.
        const vs = raw5.vs.filter((v) => !Number.isNaN(v));
        expect(vs.length, `${series}: its NaNs are not all of it`).toBeGreaterThan(0);
        expect(total(count!.get(series)!.vs), series).toBe(vs.length);
        expect(Math.min(...min!.get(series)!.vs), series).toBe(Math.min(...vs));
        expect(Math.max(...max!.get(series)!.vs), series).toBe(Math.max(...vs));
        // Summed per window first: equal up to float rounding.
        const [got, want] = [total(sum!.get(series)!.vs), total(vs)];
        expect(Math.abs(got - want), `${series}: sum ${got} vs ${want}`).toBeLessThanOrEqual(
          1e-12 * Math.abs(want),
        );
        // Thanos' windows: an aggregate sample sits at its window's last millisecond, or at the
        // last raw sample of a batch when the batch ends inside the window.
        const rawTs = new Set(raw5.ts);
        for (const t of count!.get(series)!.ts)
          expect((t + 1) % FIVE_MIN === 0 || rawTs.has(t), `${series}: window at ${t}`).toBe(true);
      }
    }
    // The bad block: marked no-downsample with the reason and the error, nothing else touched it.
    const bad = await readTenant(bucket, BAD_TENANT);
    expect([...bad.blocks.keys()]).toEqual([badBlock]);
    const mark = JSON.parse(
      (await bucket.get(`${BAD_TENANT}/${badBlock}/no-downsample-mark.json`)).toString('utf8'),
    ) as { reason: string; details?: string };
    expect(mark.reason).toBe('critical');
    expect(mark.details).toMatch(/ERR_TSDB_UNKNOWN_ENCODING|unknown|encoding/i);
    expect(mark.details).toContain(badBlock);
    expect(s['plans_failed']).toBe(1);

    const again = await compact([]);
    expect(again['downsampled']).toBe(0);
    expect(again['plans_done']).toBe(0);
  }, 120_000);

  it('the block with native histogram series has its 5m version: count, sum and counter per window', async () => {
    const st = await readTenant(bucket, HIST_TENANT);
    expect(
      [...st.blocks.values()].flatMap((b) => b.objects.filter((o) => o.includes('no-downsample'))),
    ).toEqual([]);
    const [f] = live(st, FIVE_MIN);
    expect(f?.compaction.sources).toEqual([histBlock]);
    const [rawDir, fiveDir] = await downloadBlocks(
      bucket,
      HIST_TENANT,
      [histBlock, f!.ulid],
      join(root, 'dl', HIST_TENANT),
    );
    const raw = await BlockReader.open(rawDir!);
    const five = await BlockReader.open(fiveDir!);
    try {
      const rawCounts = new Map<string, number>();
      const hs = new HistSeries();
      const buf = new SampleBuf();
      for await (const s of raw.index.seriesIterator()) {
        let n = 0;
        for (const m of s.chunks) {
          const c = await raw.chunks.read(m.ref);
          if (c.encoding === ENC_XOR) {
            decodeChunkInto(c, buf, rawDir!);
            for (let i = 0; i < buf.len; i++) if (!Number.isNaN(bitsToFloat(buf.hi[i]!, buf.lo[i]!))) n++;
          } else {
            hs.reset();
            hs.appendChunk(c.encoding, c.data, rawDir!, c.dataOffset);
            n += hs.hs.filter((h) => !Number.isNaN(h.sum)).length;
          }
        }
        rawCounts.set(formatLabels(s.labels), n);
      }
      const parts = new AggrParts();
      let histSeries = 0;
      for await (const s of five.index.seriesIterator()) {
        let n = 0;
        let isHist = false;
        for (const m of s.chunks) {
          const c = await five.chunks.read(m.ref);
          splitAggrChunk(c.data, parts, fiveDir!, c.dataOffset);
          expect(readAggregate(c.data, AGGR_COUNT, buf, fiveDir!, c.dataOffset)).toBe(true);
          for (let i = 0; i < buf.len; i++) n += bitsToFloat(buf.hi[i]!, buf.lo[i]!);
          if (isHistogramAggr(parts)) {
            isHist = true;
            expect(parts.has(AGGR_MIN)).toBe(false);
            const sum = decodeAggrHistograms(c.data, parts, AGGR_SUM, fiveDir!, c.dataOffset)!;
            expect(sum.hs.length).toBe(buf.len);
            expect(decodeAggrHistograms(c.data, parts, AGGR_COUNTER, fiveDir!, c.dataOffset)!.hs.length).toBe(
              buf.len,
            );
          }
        }
        if (isHist) histSeries++;
        expect(n, formatLabels(s.labels)).toBe(rawCounts.get(formatLabels(s.labels)));
      }
      expect(histSeries).toBe(2);
      expect(rawCounts.size).toBe(4);
    } finally {
      await raw.close();
      await five.close();
    }
  });

  it('raw 2d, 5m 30d: raw blocks past 2d are deleted only once 5m blocks hold all their sources', async () => {
    const s = await compact(['--retention.resolution-raw', '2d', '--retention.resolution-5m', '30d']);
    expect(Number(s['retention_marked'])).toBeGreaterThan(0);
    for (const tenant of TENANTS) {
      const st = await readTenant(bucket, tenant);
      // Every raw block is 20 days old: all went, and only after their 5m versions existed.
      expect(live(st, 0), `${tenant}: raw blocks left`).toEqual([]);
      const fiveMin = live(st, FIVE_MIN);
      const covered = new Set(fiveMin.flatMap((m) => m.compaction.sources));
      for (const id of written.get(tenant)!)
        expect(covered.has(id), `${tenant}: raw source ${id} in a 5m block`).toBe(true);
      // The 5m blocks span all the raw data: [start, start + 52h).
      expect(fiveMin[0]!.minTime).toBe(start);
      expect(Math.max(...fiveMin.map((m) => m.maxTime))).toBeGreaterThan(start + 50 * H);
    }
  }, 120_000);
});
