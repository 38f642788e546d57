import { describe, expect, it } from 'vitest';
import { mkBlock } from '../../test/support/plan-fixtures.js';
import { planAll } from '../plan/plan-all.js';
import type { PlanBlock, PlanFootprint } from '../plan/types.js';
import { withoutRunningGaps } from './bucket-source.js';

const RANGES = [20, 80, 480];

/** Six 80-wide windows of four 20-wide blocks each, then two later blocks (the newest is never a candidate). */
function day(tenant: string): PlanBlock[] {
  const out: PlanBlock[] = [];
  for (let i = 0; i < 24; i++) out.push(mkBlock({ id: i + 1, min: i * 20, max: (i + 1) * 20, tenant }));
  out.push(
    mkBlock({ id: 100, min: 480, max: 500, tenant }),
    mkBlock({ id: 101, min: 500, max: 520, tenant }),
  );
  return out;
}

describe('withoutRunningGaps', () => {
  const blocks = day('t');
  const first = planAll(blocks, { ranges: RANGES }).plans;
  const running: PlanFootprint = first.find((p) => p.minTime === 400)!;

  it('drops the group a sync saw without a running plan’s sources (marked, output not yet listed)', () => {
    // Windows 1-5 compacted to level 2; window 6 is running and its sources already look gone.
    const merged = [0, 1, 2, 3, 4].map((w) =>
      mkBlock({ id: 200 + w, min: w * 80, max: (w + 1) * 80, level: 2, tenant: 't' }),
    );
    const seen = [...merged, ...blocks.slice(24)];
    const around = planAll(seen, { ranges: RANGES }).plans;
    // Without the check the planner would merge windows 1-5 without window 6's output.
    expect(around.map((p) => [p.minTime, p.maxTime])).toEqual([[0, 400]]);
    const ctx = { busy: () => true, running: (t: string) => (t === 't' ? [running] : []) };
    expect(withoutRunningGaps(around, seen, ctx)).toEqual([]);
  });

  it('keeps plans when the running plan’s sources are all seen, and other groups and tenants', () => {
    const other = day('u');
    const seen = [...blocks, ...other];
    const plans = planAll(seen, { ranges: RANGES }).plans;
    const ctx = { busy: () => true, running: (t: string) => (t === 't' ? [running] : []) };
    expect(withoutRunningGaps(plans, seen, ctx)).toEqual(plans);
    // Tenant t's running sources gone: only t's plans go.
    const partial = seen.filter((b) => !(b.tenant === 't' && b.minTime >= 400 && b.maxTime <= 480));
    const left = withoutRunningGaps(planAll(partial, { ranges: RANGES }).plans, partial, ctx);
    expect(new Set(left.map((p) => p.tenant))).toEqual(new Set(['u']));
  });
});
