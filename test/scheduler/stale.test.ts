/** Which pending plans a completion voids (pure logic of the planner service). */
import { expect, test } from 'vitest';
import { plannedBefore, type Consumed } from '../../src/scheduler/passes.js';
import type { Plan } from '../../src/plan/index.js';
import { freshUlid, testPlan } from './helpers.js';

const H8 = 8 * 3_600_000;

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
