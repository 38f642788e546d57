/**
 * The log checks the planner HA tests rely on (ha-support.ts), on hand-written worker logs: how
 * plan runs are read (start, end, writes, cancellations) and which overlaps count as cross-epoch
 * conflicts or double compactions. No process, no bucket.
 */
import { describe, expect, it } from 'vitest';
import { compactedTwice, crossEpochConflicts, planRuns } from './ha-support.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

/** A logfmt line as the worker prints it, `ms` after T0. */
function line(ms: number, msg: string, fields: Record<string, string | number>): string {
  const kv = Object.entries(fields)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return `ts=${new Date(T0 + ms).toISOString()} level=info ${kv} msg="${msg}"`;
}

const started = (ms: number, plan: string, epoch: number, sources: string, tenant = 't'): string =>
  line(ms, 'plan started', { worker: 'w', plan, tenant, epoch, sources });
const uploaded = (ms: number, plan: string): string =>
  line(ms, 'uploaded block', { plan, tenant: 't', block: 'OUT' });
const done = (ms: number, plan: string): string =>
  line(ms, 'compaction done', { plan, tenant: 't', output: 'OUT' });
const cancelled = (ms: number, plan: string): string =>
  line(ms, 'plan cancelled by the planner', { worker: 'w', plan, reason: 'x' });
const failed = (ms: number, plan: string): string =>
  line(ms, 'plan failed', { worker: 'w', plan, reason: 'x' });

function runsOf(...workers: string[][]): ReturnType<typeof planRuns> {
  return planRuns(workers.map((lines, i) => ({ id: `w${i + 1}`, output: lines.join('\n') + '\n' })));
}

describe('planRuns', () => {
  it('reads start, end, outcome and writes of every run', () => {
    const runs = runsOf(
      [started(0, 'P1', 2, 'A,B'), uploaded(50, 'P1'), done(80, 'P1'), started(90, 'P2', 2, 'C')],
      [started(10, 'P3', 2, 'D'), failed(40, 'P3'), started(60, 'P4', 3, 'E'), cancelled(70, 'P4')],
    );
    expect(
      runs.map((r) => [
        r.worker,
        r.plan,
        r.epoch,
        r.sources,
        r.start - T0,
        r.end && r.end - T0,
        r.outcome,
        r.wrote,
      ]),
    ).toEqual([
      ['w1', 'P1', 2, ['A', 'B'], 0, 80, 'completed', true],
      ['w2', 'P3', 2, ['D'], 10, 40, 'failed', false],
      ['w2', 'P4', 3, ['E'], 60, 70, 'cancelled', false],
      ['w1', 'P2', 2, ['C'], 90, undefined, undefined, false],
    ]);
  });

  it('a cancelled run that was uploading or marking ends at its last write', () => {
    const [up, mark] = runsOf(
      [started(0, 'P1', 2, 'A'), cancelled(10, 'P1'), uploaded(30, 'P1')],
      [started(1, 'P2', 2, 'B'), cancelled(10, 'P2'), done(40, 'P2')],
    );
    expect([up!.outcome, up!.wrote, up!.end! - T0]).toEqual(['cancelled', true, 30]);
    expect([mark!.outcome, mark!.wrote, mark!.end! - T0]).toEqual(['cancelled', true, 40]);
  });
});

describe('crossEpochConflicts', () => {
  it('none when the old epoch’s run ended before the new one started', () => {
    const runs = runsOf(
      [started(0, 'P', 2, 'A,B'), done(50, 'P')],
      [started(60, 'P', 3, 'B,C'), done(90, 'P')],
    );
    expect(crossEpochConflicts(runs)).toEqual([]);
    // ... but the shared block was compacted twice.
    expect(compactedTwice(runs)).toHaveLength(1);
  });

  it('a run still going (or never ended) when another epoch hands out its source', () => {
    expect(crossEpochConflicts(runsOf([started(0, 'P', 2, 'A')], [started(60, 'Q', 3, 'A')]))).toHaveLength(
      1,
    );
    expect(
      crossEpochConflicts(
        runsOf([started(0, 'P', 2, 'A'), done(70, 'P')], [started(60, 'Q', 3, 'A'), done(90, 'Q')]),
      ),
    ).toHaveLength(1);
  });

  it('an overlap is harmless when one of the two was cancelled before it wrote anything', () => {
    const runs = runsOf(
      [started(0, 'P', 2, 'A'), cancelled(80, 'P')],
      [started(60, 'Q', 3, 'A'), uploaded(85, 'Q'), done(90, 'Q')],
    );
    expect(crossEpochConflicts(runs)).toEqual([]);
    expect(compactedTwice(runs)).toEqual([]);
  });

  it('but not when the cancelled run finished an upload after the other started', () => {
    const runs = runsOf(
      [started(0, 'P', 2, 'A'), cancelled(80, 'P'), uploaded(95, 'P')],
      [started(60, 'Q', 3, 'A'), done(90, 'Q')],
    );
    expect(crossEpochConflicts(runs)).toHaveLength(1);
    expect(compactedTwice(runs)).toHaveLength(1);
  });

  it('ignores the same epoch, other tenants and disjoint sources', () => {
    const runs = runsOf(
      [started(0, 'P', 2, 'A'), started(1, 'R', 2, 'X', 'u')],
      [started(10, 'Q', 2, 'A'), started(20, 'S', 3, 'X'), started(30, 'T', 3, 'Z', 'u')],
    );
    expect(crossEpochConflicts(runs)).toEqual([]);
  });
});
