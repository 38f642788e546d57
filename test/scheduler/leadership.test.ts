/** The leadership gate: NOT_LEADER redirects, the grace period after a takeover, epochs. */
import { afterEach, expect, test } from 'vitest';
import { Code } from '@connectrpc/connect';
import type { AssignedPlan } from '../../src/scheduler/codec.js';
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

test('a worker follows NOT_LEADER to the leader named by the follower', async () => {
  const plans = [testPlan({ tenant: 'a' }), testPlan({ tenant: 'b' })];
  const leaderSource = new FakeSource(plans);
  const leader = await h.server({ source: leaderSource });
  const followerSource = new FakeSource([testPlan({ tenant: 'never' })]);
  const follower = await h.server({
    source: followerSource,
    leadership: new FakeLeadership(false, 0, leader.address),
  });
  const exec = new FakeExecutor();
  const w = h.worker({ planners: follower.address, executor: exec });
  await until(() => leaderSource.completed.length >= 2, 'completions on the leader');
  expect(w.stats().connectedTo).toEqual([leader.address]);
  expect(followerSource.passes).toBe(0); // a follower never plans
  expect(exec.started.map((p) => p.tenant).sort()).toEqual(['a', 'b']);
});

test('without a known leader the worker tries the next address of its list', async () => {
  const source = new FakeSource([testPlan({ tenant: 'a' })]);
  const leader = await h.server({ source });
  const follower = await h.server({ source: new FakeSource(), leadership: new FakeLeadership(false, 0) });
  const w = h.worker({ planners: `${follower.address}, ${leader.address}`, executor: new FakeExecutor() });
  await until(() => source.completed.length >= 1, 'completion');
  expect(w.stats().connectedTo).toEqual([leader.address]);
});

test('losing leadership answers NOT_LEADER on open streams and closes them', async () => {
  const view = new FakeLeadership(true, 1);
  const server = await h.server({ source: new FakeSource(), leadership: view });
  const raw = h.raw(server.address);
  raw.init('raw');
  raw.next();
  expect((await raw.message(1)).msg.case).toBe('noPlan');
  view.leader = false;
  view.address = '127.0.0.1:1';
  const m = await raw.message(2);
  expect(m.msg.case).toBe('notLeader');
  expect(m.msg.case === 'notLeader' && m.msg.value.leaderAddress).toBe('127.0.0.1:1');
  expect((await raw.status).code).toBe(0);
});

test('grace period: a reconnecting worker reports its running plan before anything conflicting is handed out', async () => {
  // R runs on a worker since the previous leader (epoch 1). P2 overlaps R in time (same group);
  // P1 is independent.
  const r = testPlan({ tenant: 't', min: 0, max: 4 * H2 });
  const p2 = testPlan({ tenant: 't', min: 2 * H2, max: 6 * H2 });
  const p1 = testPlan({ tenant: 't', group: '0@42' });
  const source = new FakeSource([r, p2, p1]);
  const completions: { id: string; olderEpoch: boolean }[] = [];
  const assignedAt: number[] = [];
  const startedAt = Date.now();
  const server = await h.server({
    source,
    leadership: new FakeLeadership(true, 2),
    graceMs: 600,
    events: {
      completed: (e) => completions.push({ id: e.plan.id, olderEpoch: e.olderEpoch }),
      assigned: () => assignedAt.push(Date.now()),
    },
  });
  // A fresh worker connects first and asks at once: nothing until the grace period is over.
  const events: string[] = [];
  const exec = new FakeExecutor(async (p: AssignedPlan) => {
    events.push(`start ${p.id}`);
    return { outputs: [freshUlid()] };
  });
  h.worker({ planners: server.address, executor: exec, capacity: 2 });
  await delay(100);
  expect(exec.started).toHaveLength(0);

  // The reconnecting worker: INIT with R and the epoch it came with.
  const old = h.raw(server.address);
  old.init('old', 1, [
    {
      planId: r.id,
      epoch: 1n,
      tenant: r.tenant,
      groupKey: r.groupKey,
      minTime: BigInt(r.minTime),
      maxTime: BigInt(r.maxTime),
      sourceUlids: r.sources.map((b) => b.ulid),
    },
  ]);
  await until(() => events.includes(`start ${p1.id}`), 'P1 after the grace period');
  expect(Math.min(...assignedAt) - startedAt).toBeGreaterThanOrEqual(550);
  await delay(200);
  expect(events).not.toContain(`start ${r.id}`);
  expect(events).not.toContain(`start ${p2.id}`);

  // R completes under the old epoch: recognised and accepted; then P2 may run.
  old.send({ msg: { case: 'complete', value: { planId: r.id, epoch: 1n, outputUlids: [freshUlid()] } } });
  await until(() => events.includes(`start ${p2.id}`), 'P2 after R completed');
  expect(completions.find((c) => c.id === r.id)).toEqual({ id: r.id, olderEpoch: true });
  expect(events).not.toContain(`start ${r.id}`);
  old.end();
  expect((await old.status).code).toBe(0);
});

test('a worker keeps its plan across a planner restart and completes it under the new leader', async () => {
  const plan = testPlan({ tenant: 't' });
  const conflicting = testPlan({ tenant: 't', min: H2, max: 3 * H2 });
  const source = new FakeSource([plan]);
  const first = await h.server({ source, leadership: new FakeLeadership(true, 1) });
  let release!: () => void;
  const gate = new Promise<void>((res) => (release = res));
  const exec = new FakeExecutor(async (p) => {
    if (p.id === plan.id) await gate;
    return { outputs: [freshUlid()] };
  });
  const completions: { id: string; olderEpoch: boolean }[] = [];
  // The second planner (epoch 2) is already up; the worker moves to it when the first goes away.
  const second = await h.server({
    source,
    leadership: new FakeLeadership(true, 2),
    graceMs: 400,
    events: { completed: (e) => completions.push({ id: e.plan.id, olderEpoch: e.olderEpoch }) },
  });
  const w = h.worker({ planners: `${first.address},${second.address}`, executor: exec });
  await until(() => exec.started.length >= 1, 'plan started on the first planner');
  expect(exec.started[0]!.epoch).toBe(1);
  source.plans = [plan, conflicting];
  await first.close();
  await until(() => w.stats().connectedTo[0] === second.address, 'reconnect to the second planner');
  await delay(500); // past the grace period
  expect(second.service.stats()).toMatchObject({ running: 1 });
  release();
  await until(() => completions.length >= 1, 'completion on the second planner');
  expect(completions[0]).toEqual({ id: plan.id, olderEpoch: true });
  await until(() => exec.finished.some((p) => p.id === conflicting.id), 'the conflicting plan, afterwards');
});

test('an epoch change while leading ends every stream with UNAVAILABLE; workers re-INIT', async () => {
  const view = new FakeLeadership(true, 1);
  const server = await h.server({ source: new FakeSource(), leadership: view });
  const raw = h.raw(server.address);
  raw.init('raw');
  raw.next();
  await raw.message(1);
  view.term = 2;
  const st = await raw.status;
  expect(st.code).toBe(Code.Unavailable);
  expect(server.service.stats().epoch).toBe(2);
});
