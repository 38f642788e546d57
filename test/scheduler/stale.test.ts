/** Which pending plans a completion voids (pure logic of the planner service). */
import { expect, test } from 'vitest';
import { plannedBefore, type Consumed } from '../../src/scheduler/passes.js';
import { planAll, type Plan } from '../../src/plan/index.js';
import { mkBlock } from '../support/plan-fixtures.js';
import { freshUlid, testPlan } from './helpers.js';

const H8 = 8 * 3_600_000;
const D2 = 6 * H8;

function completed(p: Plan, output: string): Consumed {
  return {
    tenant: p.tenant,
    groupKey: p.groupKey,
    minTime: p.minTime,
    maxTime: p.maxTime,
    ulids: new Set(p.sources.map((b) => b.ulid)),
    outputs: [output],
    settledAt: 1,
  };
}

test('a plan reading a consumed source is stale', () => {
  const done = testPlan({ tenant: 't', min: 0, max: H8 });
  const reader = testPlan({ tenant: 't', min: 0, max: H8, sources: [done.sources[0]!.ulid, freshUlid()] });
  expect(plannedBefore(reader, completed(done, freshUlid()))).toBe(true);
});

test('a plan covering the completed range in its group without the output is stale (it planned around the gap)', () => {
  const done = testPlan({ tenant: 't', min: H8, max: 2 * H8, level: 2 });
  const out = freshUlid();
  const around = testPlan({ tenant: 't', min: 0, max: 6 * H8, level: 3 });
  expect(plannedBefore(around, completed(done, out))).toBe(true);
  const withOutput = testPlan({ tenant: 't', min: 0, max: 6 * H8, level: 3, sources: [freshUlid(), out] });
  expect(plannedBefore(withOutput, completed(done, out))).toBe(false);
});

test('other tenants, other groups and disjoint ranges are not affected', () => {
  const done = testPlan({ tenant: 't', min: H8, max: 2 * H8 });
  const c = completed(done, freshUlid());
  expect(plannedBefore(testPlan({ tenant: 'u', min: 0, max: 6 * H8 }), c)).toBe(false);
  expect(plannedBefore(testPlan({ tenant: 't', group: '0@999', min: 0, max: 6 * H8 }), c)).toBe(false);
  expect(plannedBefore(testPlan({ tenant: 't', min: 2 * H8, max: 3 * H8 }), c)).toBe(false);
});

test('a plan of a range bucket is stale when a completion lands anywhere in that bucket, even outside its own range', () => {
  // The 2d bucket [0, 2d) as a sync saw it while the 8h plan of [0, 8h) had marked its sources
  // but its output was not listed yet: only the three newest 8h blocks, and a newer block after
  // the bucket. The planner picks those three (they end before the newest block starts).
  const blocks = [3, 4, 5].map((i) =>
    mkBlock({ id: `8h-${i}`, tenant: 't', min: i * H8, max: (i + 1) * H8, level: 3 }),
  );
  blocks.push(mkBlock({ id: 'next-1', tenant: 't', min: D2, max: D2 + H8, level: 3 }));
  blocks.push(mkBlock({ id: 'next-2', tenant: 't', min: D2 + H8, max: D2 + 2 * H8, level: 3 }));
  const { plans } = planAll(blocks, {});
  const premature = plans.find((p) => p.minTime === 3 * H8);
  expect(premature?.sources.length, JSON.stringify(plans.map((p) => [p.minTime, p.maxTime]))).toBe(3);
  expect(premature!.window).toEqual({ minTime: 0, maxTime: D2 });
  const first8h = testPlan({ tenant: 't', group: premature!.groupKey, min: 0, max: H8, level: 2 });
  expect(plannedBefore(premature!, completed(first8h, freshUlid()))).toBe(true);
  // A completion in the next bucket does not touch it.
  const later = testPlan({ tenant: 't', group: premature!.groupKey, min: D2 + 2 * H8, max: D2 + 3 * H8 });
  expect(plannedBefore(premature!, completed(later, freshUlid()))).toBe(false);
});
