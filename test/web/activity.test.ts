/**
 * The compaction page's collection logic, with a fake clock: the backlog ring buffer (24 h window,
 * spacing, wrap-around), the behind verdict (ok / behind / halted and why), pass and failure
 * records, the planner's backlog from its plans, the JSON the page reads, and the Info latency
 * window of the query page.
 */
import { describe, expect, it } from 'vitest';
import {
  BACKLOG_SAMPLE_EVERY_MS,
  BACKLOG_WINDOW_MS,
  BacklogHistory,
  CompactionActivity,
  backlogOfPlans,
  behindVerdict,
  type BacklogSample,
  type CompactionSnapshot,
} from '../../src/compactor/activity.js';
import { LatencyWindow } from '../../src/query/latency.js';
import { compactionView, QUEUED_SHOWN } from '../../src/web/compaction-api.js';

const H = 3600_000;
const T0 = 1_800_000_000_000;

const sample = (atMs: number, blocks: number): BacklogSample => ({
  atMs,
  todoCompactions: Math.ceil(blocks / 4),
  todoCompactionBlocks: blocks,
  todoDownsamples: 0,
  todoDeletions: 0,
});

describe('BacklogHistory', () => {
  it('keeps 24 h of samples taken every 30 s, oldest first, through many wrap-arounds', () => {
    const h = new BacklogHistory();
    const n = (3 * BACKLOG_WINDOW_MS) / BACKLOG_SAMPLE_EVERY_MS;
    for (let i = 0; i <= n; i++) h.add(sample(T0 + i * BACKLOG_SAMPLE_EVERY_MS, i));
    const now = T0 + n * BACKLOG_SAMPLE_EVERY_MS;
    const got = h.samples(now);
    expect(got).toHaveLength(BACKLOG_WINDOW_MS / BACKLOG_SAMPLE_EVERY_MS + 1);
    expect(got[0]!.atMs).toBe(now - BACKLOG_WINDOW_MS);
    expect(got.at(-1)!.atMs).toBe(now);
    for (let i = 1; i < got.length; i++)
      expect(got[i]!.atMs - got[i - 1]!.atMs).toBe(BACKLOG_SAMPLE_EVERY_MS);
    expect(h.latest?.todoCompactionBlocks).toBe(n);
  });

  it('a burst of passes keeps the first and the latest sample of each 30 s, not pushing the window out', () => {
    const h = new BacklogHistory();
    h.add(sample(T0, 10));
    for (let i = 1; i <= 10_000; i++) h.add(sample(T0 + 60_000 + i, i));
    const got = h.samples(T0 + 70_000);
    expect(got.map((s) => s.todoCompactionBlocks)).toEqual([10, 1, 10_000]);
  });

  it('drops samples older than the window and ignores ones from the past', () => {
    const h = new BacklogHistory();
    h.add(sample(T0, 1));
    h.add(sample(T0 + H, 2));
    h.add(sample(T0 + 30 * 60_000, 99));
    expect(h.samples(T0 + 24 * H + 1).map((s) => s.todoCompactionBlocks)).toEqual([2]);
  });
});

describe('behindVerdict', () => {
  const base = { startedMs: T0, intervalMs: 5 * 60_000, backlog: [] as BacklogSample[] };

  it('ok right after start and while passes keep succeeding', () => {
    expect(
      behindVerdict({ ...base, nowMs: T0 + 60_000, lastSuccessMs: undefined, lastPlanEndMs: undefined })
        .state,
    ).toBe('ok');
    expect(
      behindVerdict({
        ...base,
        nowMs: T0 + 10 * H,
        lastSuccessMs: T0 + 10 * H - 6 * 60_000,
        lastPlanEndMs: undefined,
      }),
    ).toEqual({ state: 'ok', reasons: [] });
  });

  it('halted when no pass succeeded and no plan finished for three intervals', () => {
    const v = behindVerdict({
      ...base,
      nowMs: T0 + 2 * H,
      lastSuccessMs: T0 + 60_000,
      lastPlanEndMs: T0 + 60_000,
    });
    expect(v.state).toBe('halted');
    expect(v.reasons[0]).toMatch(/last successful pass 119m ago and no plan finished since; interval 5m/);
    expect(
      behindVerdict({ ...base, nowMs: T0 + H, lastSuccessMs: undefined, lastPlanEndMs: undefined })
        .reasons[0],
    ).toMatch(/no successful pass in the 60m since start/);
  });

  it('behind, not halted, when a long pass still finishes plans', () => {
    const v = behindVerdict({
      ...base,
      nowMs: T0 + 2 * H,
      lastSuccessMs: T0,
      lastPlanEndMs: T0 + 2 * H - 60_000,
    });
    expect(v.state).toBe('behind');
    expect(v.reasons).toHaveLength(1);
  });

  it('behind when the backlog grew over an hour or more without emptying', () => {
    const nowMs = T0 + 5 * H;
    const growing = [sample(T0 + H, 10), sample(T0 + 3 * H, 5), sample(nowMs, 40)];
    const v = behindVerdict({
      ...base,
      nowMs,
      lastSuccessMs: nowMs - 60_000,
      lastPlanEndMs: nowMs,
      backlog: growing,
    });
    expect(v.state).toBe('behind');
    expect(v.reasons).toEqual(['backlog grew from 10 to 40 blocks in 4.0h without emptying']);
    // Emptied in between, or less than an hour of samples, or older than the 6 h trend window: ok.
    const emptied = [sample(T0 + H, 10), sample(T0 + 3 * H, 0), sample(nowMs, 40)];
    expect(
      behindVerdict({ ...base, nowMs, lastSuccessMs: nowMs, lastPlanEndMs: nowMs, backlog: emptied }).state,
    ).toBe('ok');
    const short = [sample(nowMs - 30 * 60_000, 10), sample(nowMs, 40)];
    expect(
      behindVerdict({ ...base, nowMs, lastSuccessMs: nowMs, lastPlanEndMs: nowMs, backlog: short }).state,
    ).toBe('ok');
    const shrinking = [sample(T0 + H, 40), sample(nowMs, 10)];
    expect(
      behindVerdict({ ...base, nowMs, lastSuccessMs: nowMs, lastPlanEndMs: nowMs, backlog: shrinking }).state,
    ).toBe('ok');
  });
});

describe('CompactionActivity and the compaction JSON', () => {
  it('records passes with their plans, failures newest first, and turns halted when nothing moves', () => {
    let clock = T0;
    const a = new CompactionActivity(() => clock, 60_000);
    a.passStarted();
    clock += 1000;
    a.planDone();
    a.planFailed({ plan: 'p1', tenant: 't', kind: 'transient', code: 'ERR_X', message: 'boom' });
    a.sample({ todoCompactions: 2, todoCompactionBlocks: 8, todoDownsamples: 1, todoDeletions: 3 });
    clock += 1000;
    a.passEnded('ok');
    a.passStarted();
    clock += 500;
    a.passEnded('failed', 'bucket unreachable');
    expect(a.passes.newestFirst()).toEqual([
      {
        startMs: T0 + 2000,
        durationMs: 500,
        outcome: 'failed',
        plansDone: 0,
        plansFailed: 0,
        error: 'bucket unreachable',
      },
      { startMs: T0, durationMs: 2000, outcome: 'ok', plansDone: 1, plansFailed: 1 },
    ]);
    expect(a.lastSuccessMs).toBe(T0 + 2000);
    expect(a.verdict().state).toBe('ok');
    clock += 4 * 60_000;
    expect(a.verdict().state).toBe('halted');

    const snap: CompactionSnapshot = {
      running: [
        {
          id: 'r1',
          tenant: 't',
          kind: 'vertical',
          sources: ['A', 'B'],
          phase: 'compact',
          worker: 'local',
          startedMs: clock - 1500,
        },
      ],
      queued: Array.from({ length: QUEUED_SHOWN + 5 }, (_, i) => ({
        id: `q${i}`,
        tenant: i % 2 === 0 ? 'b' : 'a',
        kind: 'horizontal',
        sources: ['X'],
        minTime: 0,
        maxTime: 2 * H,
        resolution: 0,
        outputLevel: 2,
      })),
      parked: [
        {
          id: 'p9',
          tenant: 't',
          failures: 3,
          reason: 'failed 3 times, last: x',
          failingBlock: undefined,
          parkedMs: T0,
        },
      ],
    };
    const v = compactionView({ component: 'compact', now: () => clock, activity: a, snapshot: () => snap });
    expect(v.health?.state).toBe('halted');
    expect(v.running).toEqual([
      {
        plan: 'r1',
        tenant: 't',
        kind: 'vertical',
        sources: ['A', 'B'],
        phase: 'compact',
        worker: 'local',
        started_at: new Date(clock - 1500).toISOString(),
        elapsed_ms: 1500,
      },
    ]);
    expect(v.queued.map((t) => [t.tenant, t.total, t.plans.length])).toEqual([
      ['a', 52, 52],
      ['b', 53, 53],
    ]);
    expect(v.passes.map((p) => p.outcome)).toEqual(['failed', 'ok']);
    expect(v.failures).toEqual([
      {
        at: new Date(T0 + 1000).toISOString(),
        plan: 'p1',
        tenant: 't',
        kind: 'transient',
        code: 'ERR_X',
        message: 'boom',
      },
    ]);
    expect(v.parked[0]).toMatchObject({ plan: 'p9', failing_block: null, failures: 3 });
    expect(v.backlog).toEqual({
      t: [Math.round((T0 + 1000) / 1000)],
      todo_compactions: [2],
      todo_compaction_blocks: [8],
      todo_downsamples: [1],
      todo_deletions: [3],
    });
  });

  it('lists at most 100 queued plans per tenant but counts them all', () => {
    const queued = Array.from({ length: 250 }, (_, i) => ({
      id: `q${i}`,
      tenant: 'x',
      kind: 'horizontal',
      sources: [],
      minTime: 0,
      maxTime: 1,
      resolution: 0,
      outputLevel: 2,
    }));
    const v = compactionView({
      component: 'planner',
      now: () => T0,
      snapshot: () => ({ running: [], queued, parked: [] }),
    });
    expect(v.queued).toHaveLength(1);
    expect(v.queued[0]!.total).toBe(250);
    expect(v.queued[0]!.plans).toHaveLength(QUEUED_SHOWN);
    expect(v.health).toBeNull();
  });

  it('with many tenants queued, lists about 500 plans in all, at least 10 per tenant', () => {
    const plans = (tenants: number, each: number) =>
      Array.from({ length: tenants * each }, (_, i) => ({
        id: `q${i}`,
        tenant: `t${String(i % tenants).padStart(3, '0')}`,
        kind: 'horizontal',
        sources: [],
        minTime: 0,
        maxTime: 1,
        resolution: 0,
        outputLevel: 2,
      }));
    const listed = (tenants: number, each: number): number[] =>
      compactionView({
        component: 'planner',
        now: () => T0,
        snapshot: () => ({ running: [], queued: plans(tenants, each), parked: [] }),
      }).queued.map((t) => t.plans.length);
    expect(new Set(listed(50, 100))).toEqual(new Set([10]));
    expect(new Set(listed(4, 200))).toEqual(new Set([100]));
    expect(new Set(listed(200, 20))).toEqual(new Set([10]));
    const totals = compactionView({
      component: 'planner',
      now: () => T0,
      snapshot: () => ({ running: [], queued: plans(50, 100), parked: [] }),
    }).queued.map((t) => t.total);
    expect(new Set(totals)).toEqual(new Set([100]));
  });

  it("a planner's backlog counts its queued and running plans by kind", () => {
    const p = (kind: string, n: number) => ({
      id: kind + n,
      tenant: 't',
      kind,
      sources: Array.from({ length: n }, (_, i) => `b${i}`),
      minTime: 0,
      maxTime: 1,
      resolution: 0,
      outputLevel: 1,
    });
    const snap: CompactionSnapshot = {
      queued: [p('vertical', 2), p('horizontal', 4), p('downsample', 1)],
      running: [
        {
          id: 'r',
          tenant: 't',
          kind: 'horizontal',
          sources: ['a', 'b', 'c'],
          phase: undefined,
          worker: 'w',
          startedMs: 0,
        },
      ],
      parked: [],
    };
    expect(backlogOfPlans(snap)).toEqual({
      todoCompactions: 3,
      todoCompactionBlocks: 9,
      todoDownsamples: 1,
      todoDeletions: null,
    });
  });
});

describe('a standby replica', () => {
  it('is standby while it does not lead, then judged from when it began to lead', () => {
    let clock = T0;
    const a = new CompactionActivity(() => clock, 60_000);
    a.passStarted();
    a.passEnded('ok');
    a.setStandby('not leading; the leader is 10.0.0.1:10901');
    clock += 10 * H;
    expect(a.verdict()).toEqual({ state: 'standby', reasons: ['not leading; the leader is 10.0.0.1:10901'] });
    // Leads again: a pass of the old term does not count, but it has one interval to run one.
    a.setStandby(undefined);
    clock += 30_000;
    expect(a.verdict().state).toBe('ok');
    clock += 3 * 60_000;
    expect(a.verdict()).toMatchObject({
      state: 'halted',
      reasons: [
        expect.stringMatching(/^no successful pass in the 4m since start \(or since it began to lead\)/),
      ],
    });
  });
});

describe('LatencyWindow', () => {
  it('nearest-rank p50/p99 over the last 100 round trips', () => {
    const w = new LatencyWindow(100);
    expect(w.quantile(0.5)).toBeUndefined();
    expect(w.last).toBeUndefined();
    for (let i = 1; i <= 100; i++) w.add(i);
    expect([w.quantile(0.5), w.quantile(0.99), w.last, w.count]).toEqual([50, 99, 100, 100]);
    // 50 more, all 1000 ms: the oldest 50 (1..50) fall out.
    for (let i = 0; i < 50; i++) w.add(1000);
    expect([w.quantile(0.5), w.quantile(0.99), w.last, w.count]).toEqual([100, 1000, 1000, 100]);
  });
});
