/**
 * Downsample planning and retention per resolution (pure logic): Thanos' rules (span thresholds,
 * coverage by sources per stream), and the hold that keeps raw data until a 5m block covers it.
 */
import { describe, expect, it } from 'vitest';
import {
  DOWNSAMPLE_1H_MIN_SPAN_MS,
  DOWNSAMPLE_5M_MIN_SPAN_MS,
  KEEP_FOREVER,
  planDownsampling,
  type DownsamplePlanningOptions,
  type RetentionPolicy,
} from '../../src/plan/downsample.js';
import { applyRetention } from '../../src/plan/retention.js';
import { resolvePlanOptions } from '../../src/plan/options.js';
import type { PlanBlock } from '../../src/plan/types.js';
import { RES_1H, RES_5M } from '../../src/tsdb/downsample/block.js';
import { groupKey } from '../../src/tsdb/group-key.js';
import { mkBlock } from '../support/plan-fixtures.js';

const H = 3_600_000;
const D = 24 * H;
const NOW = 400 * D;
const opts = resolvePlanOptions({});

function planning(o: Partial<DownsamplePlanningOptions> = {}): DownsamplePlanningOptions {
  return {
    retention: KEEP_FOREVER,
    nowMs: NOW,
    noDownsample: () => false,
    compacting: new Set(),
    ...o,
  };
}

function raw(
  id: string,
  min: number,
  max: number,
  extra: Partial<Parameters<typeof mkBlock>[0]> = {},
): PlanBlock {
  return mkBlock({ id, min, max, tenant: 't', labels: { cluster: 'eu1' }, ...extra });
}

describe('planDownsampling', () => {
  it('downsamples raw blocks spanning at least 40h to 5m and 5m blocks spanning at least 10d to 1h, never 1h', () => {
    const blocks = [
      raw('r-40h', 0, DOWNSAMPLE_5M_MIN_SPAN_MS),
      raw('r-short', 2 * D, 2 * D + DOWNSAMPLE_5M_MIN_SPAN_MS - 1),
      raw('f-10d', 10 * D, 10 * D + DOWNSAMPLE_1H_MIN_SPAN_MS, { resolution: RES_5M, sources: ['s1', 's2'] }),
      raw('f-short', 30 * D, 39 * D, { resolution: RES_5M, sources: ['s3'] }),
      raw('h-14d', 40 * D, 54 * D, { resolution: RES_1H, sources: ['s4'] }),
    ];
    const plans = planDownsampling(blocks, opts, planning());
    expect(plans.map((p) => [p.sources[0]!.ulid, p.resolution, p.kind])).toEqual([
      [blocks[0]!.ulid, RES_5M, 'downsample'],
      [blocks[2]!.ulid, RES_1H, 'downsample'],
    ]);
    const p = plans[0]!;
    expect(p.groupKey).toBe(groupKey(RES_5M, { cluster: 'eu1' }));
    expect(p.labels).toEqual({ cluster: 'eu1' });
    expect(p.outputLevel).toBe(blocks[0]!.compaction.level);
    expect([p.minTime, p.maxTime]).toEqual([blocks[0]!.minTime, blocks[0]!.maxTime]);
  });

  it('skips a block whose sources the 5m blocks of its stream already hold (Thanos coverage), not another stream’s', () => {
    const r = raw('r', 0, 2 * D, { sources: ['a', 'b'] });
    const covered = raw('f', 0, 2 * D, { resolution: RES_5M, sources: ['a', 'b'] });
    expect(planDownsampling([r, covered], opts, planning())).toEqual([]);
    const half = raw('f', 0, D, { resolution: RES_5M, sources: ['a'] });
    expect(planDownsampling([r, half], opts, planning()).map((p) => p.sources[0]!.ulid)).toEqual([r.ulid]);
    const otherStream = raw('f', 0, 2 * D, {
      resolution: RES_5M,
      sources: ['a', 'b'],
      labels: { cluster: 'us1' },
    });
    expect(planDownsampling([r, otherStream], opts, planning())).toHaveLength(1);
    const otherTenant = mkBlock({
      id: 'f',
      min: 0,
      max: 2 * D,
      tenant: 'u',
      resolution: RES_5M,
      sources: ['a', 'b'],
      labels: { cluster: 'eu1' },
    });
    expect(planDownsampling([r, otherTenant], opts, planning())).toHaveLength(1);
  });

  it('leaves out no-downsample-marked blocks and blocks a compaction of the pass reads', () => {
    const r = raw('r', 0, 2 * D);
    expect(planDownsampling([r], opts, planning({ noDownsample: (_t, id) => id === r.ulid }))).toEqual([]);
    expect(planDownsampling([r], opts, planning({ compacting: new Set([`t/${r.ulid}`]) }))).toEqual([]);
  });

  it('downsamples a short block once its retention passed and a coarser resolution keeps data longer', () => {
    const r = raw('r', 0, 4 * H);
    const policy: RetentionPolicy = { raw: 2 * D, fiveMinutes: 30 * D, oneHour: 0 };
    expect(planDownsampling([r], opts, planning({ retention: policy, nowMs: 4 * H + D }))).toEqual([]);
    expect(planDownsampling([r], opts, planning({ retention: policy, nowMs: 4 * H + 3 * D }))).toHaveLength(
      1,
    );
    // 5m kept no longer than raw (and 1h not at all): nothing needs the copy.
    const shorter: RetentionPolicy = { raw: 2 * D, fiveMinutes: 2 * D, oneHour: D };
    expect(planDownsampling([r], opts, planning({ retention: shorter, nowMs: 4 * H + 3 * D }))).toEqual([]);
  });
});

describe('applyRetention', () => {
  const policy: RetentionPolicy = { raw: 2 * D, fiveMinutes: 30 * D, oneHour: 0 };
  const ids = (bs: readonly PlanBlock[]): string[] => bs.map((b) => b.ulid).sort();

  it('raw 2d, 5m 30d: raw blocks older than 2d go only where a 5m block covers them; the rest are held', () => {
    const old = raw('old', 0, 2 * D, { sources: ['a', 'b'] });
    const oldUncovered = raw('old-u', 2 * D, 4 * D, { sources: ['c'] });
    const fresh = raw('fresh', NOW - D, NOW, { sources: ['d'] });
    const fiveMin = raw('5m', 0, 2 * D, { resolution: RES_5M, sources: ['a', 'b'] });
    const r = applyRetention([old, oldUncovered, fresh, fiveMin], {
      policy,
      nowMs: NOW,
      downsampling: true,
      noDownsample: () => false,
    });
    expect(ids(r.expired)).toEqual(ids([old]));
    // The 5m block is past 30d too, and 1h (kept forever) does not hold it yet.
    expect(ids(r.held)).toEqual(ids([oldUncovered, fiveMin]));
  });

  it('5m blocks past 30d go only once a 1h block covers them when 1h is kept forever', () => {
    const f = raw('5m', 0, 12 * D, { resolution: RES_5M, sources: ['a'] });
    const r1 = applyRetention([f], { policy, nowMs: NOW, downsampling: true, noDownsample: () => false });
    expect(ids(r1.held)).toEqual(ids([f]));
    const h = raw('1h', 0, 12 * D, { resolution: RES_1H, sources: ['a'] });
    const r2 = applyRetention([f, h], { policy, nowMs: NOW, downsampling: true, noDownsample: () => false });
    expect(ids(r2.expired)).toEqual(ids([f]));
    expect(r2.held).toEqual([]);
  });

  it('without downsampling, with a no-downsample mark, or when no coarser resolution outlives it, retention deletes as Thanos does', () => {
    const old = raw('old', 0, 2 * D, { sources: ['a'] });
    const base = { policy, nowMs: NOW, noDownsample: () => false };
    expect(ids(applyRetention([old], { ...base, downsampling: false }).expired)).toEqual(ids([old]));
    expect(
      ids(
        applyRetention([old], { ...base, downsampling: true, noDownsample: (_t, id) => id === old.ulid })
          .expired,
      ),
    ).toEqual(ids([old]));
    const allShort: RetentionPolicy = { raw: 2 * D, fiveMinutes: D, oneHour: D };
    expect(ids(applyRetention([old], { ...base, policy: allShort, downsampling: true }).expired)).toEqual(
      ids([old]),
    );
  });

  it('0 keeps a resolution forever; a block is due only once now > maxTime + retention', () => {
    const b = raw('b', 0, 2 * D, { sources: ['a'] });
    const o = { nowMs: 4 * D, downsampling: false, noDownsample: () => false };
    expect(applyRetention([b], { ...o, policy: KEEP_FOREVER }).expired).toEqual([]);
    expect(applyRetention([b], { ...o, policy: { ...KEEP_FOREVER, raw: 2 * D } }).expired).toEqual([]);
    expect(
      applyRetention([b], { ...o, nowMs: 4 * D + 1, policy: { ...KEEP_FOREVER, raw: 2 * D } }).expired,
    ).toHaveLength(1);
  });
});
