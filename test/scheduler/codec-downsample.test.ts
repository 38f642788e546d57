/** A downsample plan crosses the planner → worker wire unchanged (kind, target resolution, source). */
import { expect, test } from 'vitest';
import { planToWire, planFromWire } from '../../src/scheduler/codec.js';
import { makeDownsamplePlan } from '../../src/plan/downsample.js';
import { resolvePlanOptions } from '../../src/plan/options.js';
import { RES_5M } from '../../src/tsdb/downsample/block.js';
import { mkBlock } from '../support/plan-fixtures.js';

test('a downsample plan round-trips through the PLAN message', () => {
  const b = mkBlock({
    id: 7,
    min: 0,
    max: 48 * 3_600_000,
    level: 4,
    tenant: 't',
    labels: { cluster: 'eu1', replica: 'a' },
  });
  const plan = makeDownsamplePlan(b, RES_5M, resolvePlanOptions({ replicaLabels: ['replica'] }));
  const got = planFromWire(planToWire(plan, 3, 'p1'));
  expect(got.kind).toBe('downsample');
  expect(got.resolution).toBe(RES_5M);
  expect(got.outputLevel).toBe(4);
  expect(got.labels).toEqual({ cluster: 'eu1', replica: 'a' });
  expect(got.groupKey).toBe(plan.groupKey);
  expect(got.sources).toEqual([
    { ulid: b.ulid, minTime: b.minTime, maxTime: b.maxTime, compaction: { level: 4 } },
  ]);
  expect(got.groupKey.startsWith(`${RES_5M}@`)).toBe(true);
});
