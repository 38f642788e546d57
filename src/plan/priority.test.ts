import { describe, expect, it } from 'vitest';
import { mkBlock } from '../../test/support/plan-fixtures.js';
import { planAll } from './plan-all.js';
import { compareForPriority, plansConflict } from './priority.js';
import { compactionProgress } from './simulate.js';
import type { Plan, PlanBlock } from './types.js';

const RANGES = [20, 60, 180, 540];

function fourBlocks(tenant: string, start: number, level = 1, first = 1): PlanBlock[] {
  const len = level === 1 ? 20 : 60;
  return [0, 1, 2, 3].map((i) =>
    mkBlock({ id: first + i, min: start + i * len, max: start + (i + 1) * len, level, tenant }),
  );
}

describe('compareForPriority', () => {
  it('orders lower output level first, then older data, then id', () => {
    const plans = planAll(
      [...fourBlocks('late', 540, 1, 1), ...fourBlocks('early', 0, 1, 10), ...fourBlocks('big', 0, 2, 20)],
      { ranges: RANGES },
    ).plans;
    const order = [...plans].sort(compareForPriority).map((p) => [p.tenant, p.outputLevel, p.minTime]);
    expect(order).toEqual([
      ['early', 2, 0],
      ['late', 2, 540],
      ['big', 3, 0],
    ]);
    const a = plans[0]!;
    expect(compareForPriority(a, a)).toBe(0);
  });
});

describe('plansConflict', () => {
  const plan = (blocks: PlanBlock[]): Plan => planAll(blocks, { ranges: RANGES }).plans[0]!;

  it('detects shared blocks and same-group time overlap, ignores other tenants', () => {
    const b = (id: number, min: number): PlanBlock => mkBlock({ id, min, max: min + 20, tenant: 't' });
    // 0-20, 20-40, gap, 60-80, 80-100: the first two are compacted (Prometheus' gap rule).
    const p = plan([b(1, 0), b(2, 20), b(4, 60), b(5, 80)]);
    // The missing block arrives late: now all three are one plan, sharing blocks with the first.
    const q = plan([b(1, 0), b(2, 20), b(3, 40), b(4, 60), b(5, 80)]);
    expect(p.sources).toHaveLength(2);
    expect(q.sources).toHaveLength(3);
    expect(plansConflict(p, q)).toBe(true);
    expect(plansConflict(p, plan(fourBlocks('other', 0)))).toBe(false);
    expect(plansConflict(p, plan(fourBlocks('t', 540, 1, 20)))).toBe(false);
    // Same group, disjoint blocks, overlapping time.
    const r = { ...plan(fourBlocks('t', 0, 1, 30)) };
    expect(plansConflict(p, r)).toBe(true);
  });
});

describe('compactionProgress', () => {
  it('reports per tenant, including tenants with nothing to do', () => {
    const blocks = [...fourBlocks('a', 0), mkBlock({ id: 50, min: 0, max: 20, tenant: 'idle' })];
    expect(compactionProgress(blocks, { ranges: RANGES })).toEqual([
      { tenant: 'a', todoCompactions: 1, todoCompactionBlocks: 3, rounds: 1 },
      { tenant: 'idle', todoCompactions: 0, todoCompactionBlocks: 0, rounds: 0 },
    ]);
  });
});
