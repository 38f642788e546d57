/**
 * Property tests: running every concurrent plan per pass (planAll) ends in the same blocks, after
 * the same compactions, as Thanos' one-plan-per-group loop (planFirst), including when only some
 * of the plans of a pass complete before the caller re-plans.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUlid } from '../tsdb/ulid.js';
import { findDuplicates } from '../tsdb/duplicates.js';
import { mkBlock, ulidOf } from '../../test/support/plan-fixtures.js';
import { compareBlocks, groupBlocks } from './group.js';
import { planAll, planFirst } from './plan-all.js';
import { plansConflict } from './priority.js';
import { applyPlans, compactionProgress, simulate } from './simulate.js';
import type { Plan, PlanBlock, PlanOptions } from './types.js';

const RANGES = [20, 60, 180, 540];
const OPTS: PlanOptions = { ranges: RANGES, replicaLabels: ['replica'] };

interface RawBlock {
  slot: number;
  len: number;
  aligned: boolean;
  jitter: number;
  replica: string;
  cluster: string;
  tenant: string;
  noCompact: boolean;
  failed: boolean;
  downsampled: boolean;
}

/** Anything goes: overlaps, replicas, misaligned blocks, marks, failed compactions, two resolutions. */
const messyBlock = fc.record<RawBlock>({
  slot: fc.integer({ min: 0, max: 40 }),
  len: fc.constantFrom(1, 1, 1, 1, 3, 3, 9),
  aligned: fc.boolean(),
  jitter: fc.constantFrom(0, 0, 0, 0, 0, 5, 10),
  replica: fc.constantFrom('a', 'b'),
  cluster: fc.constantFrom('x', 'y'),
  tenant: fc.constantFrom('t1', 't2'),
  noCompact: fc.integer({ min: 0, max: 11 }).map((n) => n === 0),
  failed: fc.integer({ min: 0, max: 24 }).map((n) => n === 0),
  downsampled: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
});

function toBlocks(raw: readonly RawBlock[]): PlanBlock[] {
  return raw.map((r, i) => {
    const start = (r.aligned ? Math.floor(r.slot / r.len) * r.len : r.slot) * 20 + r.jitter;
    return mkBlock({
      id: 1000 + i,
      min: start,
      max: start + r.len * 20,
      level: r.len === 1 ? 1 : 2,
      tenant: r.tenant,
      labels: { cluster: r.cluster, replica: r.replica },
      noCompact: r.noCompact,
      failed: r.failed,
      resolution: r.downsampled ? 300_000 : 0,
    });
  });
}

interface Stream {
  tenant: string;
  cluster: string;
  replicas: number;
  shift: number;
  downsampled: boolean;
  steps: Step[];
}
type Step = 'gap' | 'b1' | 'b3' | 'b9';
const step = fc.constantFrom<Step>('gap', 'b1', 'b1', 'b1', 'b1', 'b1', 'b3', 'b9');

/** A source uploading 2h blocks (some pre-compacted, some missing); HA pairs as two replicas. */
const stream = fc.record<Stream>({
  tenant: fc.constantFrom('t1', 't1', 't2'),
  cluster: fc.constantFrom('x', 'y'),
  replicas: fc.integer({ min: 1, max: 2 }),
  shift: fc.constantFrom(0, 0, 0, 5),
  downsampled: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  steps: fc.array(step, { maxLength: 50 }),
});

/** Realistic streams, plus a few stray blocks, plus some no-compact marks and failed compactions. */
const scenario = fc
  .record({
    streams: fc.array(stream, { minLength: 1, maxLength: 3 }),
    extras: fc.array(messyBlock, { maxLength: 6 }),
    marks: fc.array(fc.nat(), { maxLength: 3 }),
    fails: fc.array(fc.nat(), { maxLength: 2 }),
  })
  .map(({ streams, extras, marks, fails }) => {
    const blocks: PlanBlock[] = [];
    let id = 1;
    for (const st of streams) {
      for (let r = 0; r < st.replicas; r++) {
        let t = 0;
        for (const s of st.steps) {
          const len = s === 'b9' ? 9 : s === 'b3' ? 3 : 1;
          if (len > 1) t = Math.ceil(t / (len * 20)) * len * 20;
          if (s !== 'gap') {
            const min = t + (r === 1 ? st.shift : 0);
            blocks.push(
              mkBlock({
                id: id++,
                min,
                max: min + len * 20,
                level: len === 1 ? 1 : 2,
                tenant: st.tenant,
                labels: { cluster: st.cluster, replica: r === 0 ? 'a' : 'b' },
                resolution: st.downsampled ? 300_000 : 0,
              }),
            );
          }
          t += len * 20;
        }
      }
    }
    const stray = toBlocks(extras).map((b, i) => ({
      ...b,
      ulid: ulidOf(5000 + i),
      compaction: { ...b.compaction, sources: [ulidOf(5000 + i)] },
    }));
    blocks.push(...stray);
    if (blocks.length > 0) {
      for (const m of marks) blocks[m % blocks.length] = { ...blocks[m % blocks.length]!, noCompact: true };
      for (const f of fails) {
        const b = blocks[f % blocks.length]!;
        blocks[f % blocks.length] = { ...b, compaction: { ...b.compaction, failed: true } };
      }
    }
    return blocks;
  });

/** One source stream without overlaps, marks or failures: 2h blocks, some pre-compacted, gaps. */
const cleanTimeline = fc
  .array(fc.constantFrom<'gap' | 'b1' | 'b3' | 'b9'>('gap', 'b1', 'b1', 'b1', 'b1', 'b3', 'b9'), {
    minLength: 0,
    maxLength: 60,
  })
  .map((steps) => {
    const blocks: PlanBlock[] = [];
    let t = 0;
    let id = 1;
    for (const s of steps) {
      const len = s === 'b9' ? 9 : s === 'b3' ? 3 : 1;
      // Pre-compacted blocks are aligned like real ones; skip ahead to the next boundary.
      if (len > 1) t = Math.ceil(t / (len * 20)) * len * 20;
      if (s !== 'gap')
        blocks.push(mkBlock({ id: id++, min: t, max: t + len * 20, level: len === 1 ? 1 : 2 }));
      t += len * 20;
    }
    return blocks;
  });

const blockKey = (b: PlanBlock): string =>
  [
    b.tenant,
    JSON.stringify(b.thanos?.labels),
    b.thanos?.downsample.resolution,
    b.minTime,
    b.maxTime,
    b.noCompact,
  ]
    .concat(b.compaction.sources)
    .join('|');

const finalState = (blocks: readonly PlanBlock[]): string[] => blocks.map(blockKey).sort();

/** `tenant/ulid` of every duplicate, found per group as the fetcher's duplicate filter does. */
function duplicatesOf(blocks: readonly PlanBlock[], opts: PlanOptions): Set<string> {
  const out = new Set<string>();
  for (const g of groupBlocks(blocks, opts.replicaLabels ?? [])) {
    for (const id of findDuplicates(g.blocks).keys()) out.add(`${g.tenant}/${id}`);
  }
  return out;
}

/** planAll passes, executing `pick(plans)` of each; checks per-pass guarantees on the way. */
function runConcurrent(
  initial: readonly PlanBlock[],
  pick: (plans: readonly Plan[]) => readonly Plan[],
  opts: PlanOptions = OPTS,
) {
  let blocks = [...initial];
  const executed: string[] = [];
  let pending: readonly Plan[] = [];
  for (let pass = 0; ; pass++) {
    if (pass > 1000) throw new Error('no convergence');
    // The fetcher's duplicate filter hides duplicates before planning; the caller marks them.
    const dup = duplicatesOf(blocks, opts);
    blocks = blocks.filter((b) => !dup.has(`${b.tenant}/${b.ulid}`));
    const res = planAll(blocks, opts);
    // Plans still pending from the previous pass come back unchanged.
    const ids = new Set(res.plans.map((p) => p.id));
    for (const p of pending) expect(ids.has(p.id)).toBe(true);
    // What Thanos would run next is always among them.
    for (const p of planFirst(blocks, opts).plans) expect(ids.has(p.id)).toBe(true);
    for (let i = 0; i < res.plans.length; i++) {
      for (let j = i + 1; j < res.plans.length; j++) {
        expect(plansConflict(res.plans[i]!, res.plans[j]!)).toBe(false);
      }
    }
    // The caller writes the requested no-compact marks.
    const marks = new Set(res.noCompact.map((r) => `${r.tenant}/${r.ulid}`));
    blocks = blocks.map((b) => (marks.has(`${b.tenant}/${b.ulid}`) ? { ...b, noCompact: true } : b));
    if (res.plans.length === 0) break;
    const run = pick(res.plans);
    executed.push(...run.map((p) => p.id));
    blocks = applyPlans(blocks, run);
    const done = new Set(run.map((p) => p.id));
    pending = res.plans.filter((p) => !done.has(p.id));
  }
  return { blocks, executed };
}

function overlapsAmongCompactable(blocks: readonly PlanBlock[]): string[] {
  const bad: string[] = [];
  for (const g of groupBlocks(blocks, OPTS.replicaLabels!)) {
    const live = g.blocks.filter((b) => !b.noCompact);
    for (let i = 1; i < live.length; i++) {
      if (live[i]!.minTime < live[i - 1]!.maxTime) bad.push(`${g.tenant} ${g.key} ${live[i]!.ulid}`);
    }
  }
  return bad;
}

/**
 * The end state of leveled compaction, checked without the planner's code: in every aligned
 * bucket of every range above the first, at most one block (the newest block aside), unless
 * the bucket's blocks neither span the full range nor end before highTime.
 */
function crowdedBuckets(blocks: readonly PlanBlock[]): string[] {
  const bad: string[] = [];
  for (const g of groupBlocks(blocks, [])) {
    const sorted = [...g.blocks].sort(compareBlocks);
    if (sorted.length < 2) continue;
    // As in Prometheus selectDirs: the newest block is dropped first, then highTime is the
    // minTime of the newest remaining one.
    const older = sorted.slice(0, -1);
    const highTime = older[older.length - 1]!.minTime;
    for (const range of RANGES.slice(1)) {
      const buckets = new Map<number, PlanBlock[]>();
      for (const b of older) {
        const t0 = Math.floor(b.minTime / range) * range;
        if (b.maxTime > t0 + range) continue;
        const list = buckets.get(t0) ?? [];
        list.push(b);
        buckets.set(t0, list);
      }
      for (const [t0, list] of buckets) {
        if (list.length < 2) continue;
        const mint = Math.min(...list.map((b) => b.minTime));
        const maxt = Math.max(...list.map((b) => b.maxTime));
        if (maxt - mint === range || maxt <= highTime)
          bad.push(`range ${range} bucket ${t0}: ${list.length} blocks`);
      }
    }
  }
  return bad;
}

describe('planAll converges like the one-plan loop', () => {
  // Thanos-like (x3 steps), Mimir-like (2h, 12h, 24h) and ranges that do not nest.
  for (const ranges of [RANGES, [20, 120, 240], [20, 50, 120, 500]]) {
    it(`messy buckets, ranges ${ranges.join(',')}: same compactions, same final blocks, no overlaps left`, () => {
      const opts: PlanOptions = { ...OPTS, ranges };
      fc.assert(
        fc.property(fc.oneof(scenario, fc.array(messyBlock, { maxLength: 40 }).map(toBlocks)), (blocks) => {
          const first = simulate(blocks, opts, 'first');
          const all = runConcurrent(blocks, (plans) => plans, opts);
          expect(finalState(all.blocks)).toEqual(finalState(first.blocks));
          expect([...all.executed].sort()).toEqual(first.plans.map((p) => p.id).sort());
          expect(finalState(simulate(blocks, opts, 'all').blocks)).toEqual(finalState(first.blocks));
          expect(overlapsAmongCompactable(all.blocks)).toEqual([]);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('messy buckets, only some plans of each pass complete before re-planning', () => {
    fc.assert(
      fc.property(scenario, fc.integer(), (blocks, seed) => {
        let s = seed >>> 0;
        const coin = (): boolean => {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          return (s & 0x10000) !== 0;
        };
        // Always at least one, so every pass makes progress.
        const some = (plans: readonly Plan[]): Plan[] =>
          plans.filter((_p, i) => i === plans.length - 1 || coin());
        const first = simulate(blocks, OPTS, 'first');
        const partial = runConcurrent(blocks, some);
        expect(finalState(partial.blocks)).toEqual(finalState(first.blocks));
        expect([...partial.executed].sort()).toEqual(first.plans.map((p) => p.id).sort());
      }),
      { numRuns: 300 },
    );
  });

  it('clean timelines end with at most one block per range bucket (newest-block rule aside)', () => {
    fc.assert(
      fc.property(cleanTimeline, (blocks) => {
        const all = simulate(blocks, OPTS, 'all');
        const first = simulate(blocks, OPTS, 'first');
        expect(finalState(all.blocks)).toEqual(finalState(first.blocks));
        expect(all.plans.map((p) => p.id).sort()).toEqual(first.plans.map((p) => p.id).sort());
        expect(crowdedBuckets(all.blocks)).toEqual([]);
        expect(overlapsAmongCompactable(all.blocks)).toEqual([]);
        // Concurrency never needs more passes than one plan at a time.
        expect(all.rounds).toBeLessThanOrEqual(first.rounds);
      }),
      { numRuns: 300 },
    );
  });

  it('progress counts match the one-plan loop, per tenant', () => {
    fc.assert(
      fc.property(scenario, (blocks) => {
        const first = simulate(blocks, OPTS, 'first');
        const progress = compactionProgress(blocks, OPTS);
        for (const t of progress) {
          const mine = first.plans.filter((p) => p.tenant === t.tenant);
          expect(t.todoCompactions).toBe(mine.length);
          expect(t.todoCompactionBlocks).toBe(mine.reduce((n, p) => n + p.sources.length, 0));
        }
        expect(progress.map((t) => t.tenant)).toEqual([...new Set(blocks.map((b) => b.tenant))].sort());
      }),
      { numRuns: 200 },
    );
  });
});

describe('simulation', () => {
  it('2h blocks of two days compact to 8h blocks, then one 2d block once the next day starts', () => {
    const H = 3_600_000;
    const blocks: PlanBlock[] = [];
    for (let i = 0; i < 25; i++) blocks.push(mkBlock({ id: i + 1, min: i * 2 * H, max: (i + 1) * 2 * H }));
    const sim = simulate(blocks);
    const ranges = sim.blocks
      .sort(compareBlocks)
      .map((b) => [b.minTime / H, b.maxTime / H, b.compaction.level, b.compaction.sources.length]);
    expect(ranges).toEqual([
      [0, 48, 3, 24],
      [48, 50, 1, 1],
    ]);
    // Six 8h compactions (4 blocks each), then one 2d compaction of their outputs.
    expect(sim.plans.map((p) => p.sources.length)).toEqual([4, 4, 4, 4, 4, 4, 6]);
    expect(sim.rounds).toBe(2);
    expect(compactionProgress(blocks)).toEqual([
      { tenant: '', todoCompactions: 7, todoCompactionBlocks: 30, rounds: 2 },
    ]);
    // Output ULIDs are valid, unique, and newer than their sources.
    const out = sim.blocks.find((b) => b.compaction.level === 3)!;
    expect(out.ulid > ulidOf(25)).toBe(true);
    expect(sim.blocks.every((b) => isUlid(b.ulid))).toBe(true);
    expect(findDuplicates(sim.blocks).size).toBe(0);
  });
});
