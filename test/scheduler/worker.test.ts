/** The worker client: graceful stop in both modes, progress, reconnects. */
import { afterEach, expect, test } from 'vitest';
import type { FailureOutcome } from '../../src/scheduler/leases.js';
import type { RequeueReason } from '../../src/scheduler/service.js';
import { parseAddresses } from '../../src/scheduler/worker.js';
import {
  FakeExecutor,
  FakeLeadership,
  FakeSource,
  Harness,
  delay,
  freshUlid,
  testPlan,
  until,
} from './helpers.js';

const H2 = 7_200_000;
const h = new Harness();
afterEach(() => h.cleanup());

test("stop('finish') takes no new work, lets running plans end and reports them", async () => {
  const plans = Array.from({ length: 6 }, (_, i) => testPlan({ tenant: 't', min: i * H2 }));
  const source = new FakeSource(plans);
  const server = await h.server({ source });
  const exec = new FakeExecutor(async () => {
    await delay(300);
    return { outputs: [freshUlid()] };
  });
  const w = h.worker({ planners: server.address, executor: exec, capacity: 2 });
  await until(() => exec.started.length >= 2, 'two plans running');
  await w.stop('finish');
  expect(exec.started).toHaveLength(2);
  expect(exec.finished).toHaveLength(2);
  expect(source.completed.map((c) => c.plan.id).sort()).toEqual(exec.started.map((p) => p.id).sort());
  expect(w.stats().running).toEqual([]);
  await until(() => server.service.stats().streams === 0, 'the stream closed');
  expect(server.service.stats()).toMatchObject({ running: 0, pending: 4 });
});

test("stop('abandon') aborts running plans and the planner re-queues them without counting a failure", async () => {
  const plan = testPlan({ tenant: 't' });
  const source = new FakeSource([plan]);
  const requeued: RequeueReason[] = [];
  const failed: FailureOutcome[] = [];
  const server = await h.server({
    source,
    events: { requeued: (e) => requeued.push(e.reason), failed: (e) => failed.push(e.outcome) },
  });
  let aborted = false;
  const stubborn = new FakeExecutor(async (_p, ctx) => {
    await delay(60_000, ctx.signal).catch((err: unknown) => {
      aborted = true;
      throw err;
    });
    return { outputs: [] };
  });
  const w = h.worker({ planners: server.address, executor: stubborn });
  await until(() => stubborn.started.length >= 1, 'plan running');
  const t0 = Date.now();
  await w.stop('abandon');
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(aborted).toBe(true);
  expect(requeued).toEqual(['abandoned']);
  expect(failed).toEqual([]);
  const other = new FakeExecutor();
  h.worker({ planners: server.address, executor: other });
  await until(() => source.completed.length >= 1, 'completion by another worker');
  expect(other.started.map((p) => p.id)).toEqual([plan.id]);
});

test('a worker reconnects with backoff while no planner leads, then reports work finished meanwhile', async () => {
  const plan = testPlan({ tenant: 't' });
  const source = new FakeSource([plan]);
  const first = await h.server({ source });
  // The standby knows no leader until it takes over (no port is ever reused).
  const standby = new FakeLeadership(false, 0);
  const second = await h.server({ source, leadership: standby, graceMs: 0 });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const exec = new FakeExecutor(async () => {
    await gate;
    return { outputs: [freshUlid()] };
  });
  const sleeps: number[] = [];
  const w = h.worker({
    planners: `${first.address},${second.address}`,
    executor: exec,
    backoffInitialMs: 20,
    backoffMaxMs: 10_000,
    sleep: async (ms) => {
      sleeps.push(ms);
      await delay(Math.min(ms, 30));
    },
  });
  await until(() => exec.started.length >= 1, 'plan running');
  await first.close();
  release(); // finishes while no planner leads: the result waits for the next stream
  await until(() => sleeps.length >= 6, 'several reconnect attempts');
  // Refused by the first, NOT_LEADER from the second: the delays grow (with jitter).
  expect(Math.max(...sleeps.slice(3))).toBeGreaterThan(Math.max(...sleeps.slice(0, 2)));
  expect(source.completed).toHaveLength(0);
  standby.leader = true;
  standby.term = 2;
  await until(() => source.completed.length >= 1, 'completion reported to the new leader');
  expect(w.stats().connectedTo).toEqual([second.address]);
  expect(exec.started).toHaveLength(1);
});

test('planner addresses: a comma-separated list, blanks ignored', () => {
  expect(parseAddresses(' a:1, b:2 ,,')).toEqual(['a:1', 'b:2']);
  expect(() => parseAddresses(' , ')).toThrow(/no planner address/);
});
