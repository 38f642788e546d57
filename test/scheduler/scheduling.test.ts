/** Fairness and conflict avoidance, observed through real worker streams. */
import { afterEach, expect, test } from 'vitest';
import type { Plan } from '../../src/plan/index.js';
import type { AssignedPlan } from '../../src/scheduler/codec.js';
import { FakeExecutor, FakeSource, Harness, delay, freshUlid, testPlan, until } from './helpers.js';

const H2 = 7_200_000;
const h = new Harness();
afterEach(() => h.cleanup());

test('one tenant with hundreds of plans does not starve ten small tenants', async () => {
  const plans: Plan[] = [];
  for (let i = 0; i < 300; i++) plans.push(testPlan({ tenant: 'big', min: i * H2 }));
  for (let t = 0; t < 10; t++) {
    for (let i = 0; i < 3; i++) plans.push(testPlan({ tenant: `small-${t}`, min: i * H2 }));
  }
  const source = new FakeSource(plans);
  const server = await h.server({ source });
  // Handout order as the workers see it: plans arrive over two streams of two slots each.
  const order: string[] = [];
  const exec = new FakeExecutor(async (p) => {
    order.push(p.tenant);
    await delay(2);
    return { outputs: [freshUlid()] };
  });
  h.worker({ planners: server.address, executor: exec, capacity: 2 });
  h.worker({ planners: server.address, executor: exec, capacity: 2 });
  await until(() => source.completed.length === plans.length, 'every plan completed', 30_000);

  let big = 0;
  let bigTenth = -1;
  order.forEach((t, i) => {
    if (t === 'big' && ++big === 10) bigTenth = i;
  });
  expect(bigTenth).toBeGreaterThan(0);
  for (let t = 0; t < 10; t++) {
    const first = order.indexOf(`small-${t}`);
    expect(first, `small-${t}`).toBeGreaterThanOrEqual(0);
    expect(first, `small-${t} before big's 10th`).toBeLessThan(bigTenth);
  }
  // The small tenants' whole backlog is done while big still has most of its own.
  const lastSmall = Math.max(...order.map((t, i) => (t.startsWith('small') ? i : -1)));
  expect(lastSmall).toBeLessThan(60);
  expect(new Set(source.completed.map((c) => c.plan.id)).size).toBe(plans.length);
});

test('a plan that conflicts with a running one waits until it ends', async () => {
  const running = testPlan({ tenant: 't', min: 0, max: 4 * H2 });
  const overlapping = testPlan({ tenant: 't', min: 2 * H2, max: 6 * H2 }); // same group, overlaps
  const shared = testPlan({ tenant: 't', group: '0@7', sources: [running.sources[0]!.ulid, freshUlid()] });
  const free = testPlan({ tenant: 'u' });
  const source = new FakeSource([running, overlapping, shared, free]);
  // Only `running` is in the first pass; the conflicting ones appear in a later pass, as when a
  // late block joins a bucket while a plan runs.
  const firstPass = source.plans;
  source.plans = [running, free];
  const server = await h.server({ source });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const events: string[] = [];
  const exec = new FakeExecutor(async (p: AssignedPlan) => {
    events.push(`start ${p.id}`);
    if (p.id === running.id) await gate;
    events.push(`end ${p.id}`);
    return { outputs: [freshUlid()] };
  });
  h.worker({ planners: server.address, executor: exec, capacity: 2 });
  h.worker({ planners: server.address, executor: exec, capacity: 2 });
  await until(
    () => events.includes(`start ${running.id}`) && events.includes(`end ${free.id}`),
    'first wave',
  );
  source.plans = firstPass;
  await server.service.replan();
  expect(server.service.stats().pending).toBe(2);
  // Four free slots poll every 30 ms; neither conflicting plan may start.
  await delay(300);
  expect(events).not.toContain(`start ${overlapping.id}`);
  expect(events).not.toContain(`start ${shared.id}`);
  // `shared` loses its block when `running` completes; `overlapping` becomes runnable.
  release();
  await until(() => events.includes(`end ${overlapping.id}`), 'the overlapping plan');
  await delay(100);
  expect(events.indexOf(`start ${overlapping.id}`)).toBeGreaterThan(events.indexOf(`end ${running.id}`));
  expect(events).not.toContain(`start ${shared.id}`);
});
