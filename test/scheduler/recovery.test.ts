/** Lease expiry, re-queueing and parking, with real streams. */
import { afterEach, expect, test } from 'vitest';
import type { RequeueReason } from '../../src/scheduler/service.js';
import { FakeExecutor, FakeSource, Harness, delay, freshUlid, testPlan, until } from './helpers.js';

const h = new Harness();
afterEach(() => h.cleanup());

test('the plan of a worker whose stream dies mid-plan is re-queued and completed by another', async () => {
  const plan = testPlan({ tenant: 't' });
  const source = new FakeSource([plan]);
  const requeued: RequeueReason[] = [];
  const server = await h.server({ source, events: { requeued: (e) => requeued.push(e.reason) } });
  const dying = h.raw(server.address);
  dying.init('dying');
  dying.next();
  const m = await dying.message(1);
  expect(m.msg.case).toBe('plan');
  expect(m.msg.case === 'plan' && m.msg.value.id).toBe(plan.id);

  const exec = new FakeExecutor();
  h.worker({ planners: server.address, executor: exec });
  await delay(150);
  expect(exec.started).toHaveLength(0); // leased to the dying stream
  dying.abort();
  await until(() => source.completed.length >= 1, 'completion by the second worker');
  expect(exec.started.map((p) => p.id)).toEqual([plan.id]);
  expect(requeued).toEqual(['stream-closed']);
});

test('a lease without PROGRESS expires: the holder gets CANCEL, another worker completes it', async () => {
  const plan = testPlan({ tenant: 't' });
  const source = new FakeSource([plan]);
  const server = await h.server({ source, leaseTimeoutMs: 300 });
  const silent = h.raw(server.address);
  silent.init('silent');
  silent.next();
  const first = await silent.message(1);
  expect(first.msg.case).toBe('plan');
  const epoch = first.msg.case === 'plan' ? first.msg.value.epoch : 0n;

  const exec = new FakeExecutor();
  h.worker({ planners: server.address, executor: exec });
  const cancel = await silent.message(2, 3000);
  expect(cancel.msg.case).toBe('cancel');
  expect(cancel.msg.case === 'cancel' && cancel.msg.value.planId).toBe(plan.id);
  await until(() => source.completed.length >= 1, 'completion by the second worker');
  expect(exec.started.map((p) => p.id)).toEqual([plan.id]);
  // A late report about the cancelled plan is ignored, not punished: the stream stays open.
  silent.send({ msg: { case: 'complete', value: { planId: plan.id, epoch, outputUlids: [freshUlid()] } } });
  silent.next();
  const after = await silent.message(3);
  expect(after.msg.case).toBe('noPlan');
  expect(source.completed).toHaveLength(1);
  silent.end();
  expect((await silent.status).code).toBe(0);
});

test('PROGRESS keeps a long plan leased past the timeout', async () => {
  const plan = testPlan({ tenant: 't' });
  const source = new FakeSource([plan]);
  const server = await h.server({ source, leaseTimeoutMs: 300 });
  const exec = new FakeExecutor(async (_p, ctx) => {
    ctx.onProgress({ phase: 'download', bytesDone: 0, bytesTotal: 100 });
    await delay(1000);
    ctx.onProgress({ phase: 'upload', bytesDone: 100, bytesTotal: 100 });
    return { outputs: [freshUlid()] };
  });
  h.worker({ planners: server.address, executor: exec, progressIntervalMs: 100 });
  await until(() => source.completed.length >= 1, 'completion', 5000);
  expect(exec.started).toHaveLength(1);
});

test('a plan failing N times is parked and its failing block reported; the rest goes on', async () => {
  const bad = testPlan({ tenant: 't' });
  const good = testPlan({ tenant: 'u' });
  const badBlock = bad.sources[1]!.ulid;
  const source = new FakeSource([bad, good]);
  const server = await h.server({ source, maxFailures: 3 });
  const exec = new FakeExecutor(async (p) => {
    if (p.id === bad.id) throw new Error(`chunk out of order in ${badBlock}`);
    return { outputs: [freshUlid()] };
  });
  h.worker({
    planners: server.address,
    executor: exec,
    classify: (err) => ({
      retryable: true,
      failingBlock: String(err).includes(badBlock) ? badBlock : undefined,
    }),
  });
  await until(() => source.parked.length >= 1, 'parking');
  expect(source.parked[0]).toMatchObject({ plan: { id: bad.id }, failingBlock: badBlock });
  // The last failure's own reason goes with the mark (the retry count is in the planner's log).
  expect(source.parked[0]!.reason).toBe(`chunk out of order in ${badBlock}`);
  await until(() => source.completed.length >= 1, 'the good plan');
  await delay(200);
  expect(exec.started.filter((p) => p.id === bad.id)).toHaveLength(3);
  expect(server.service.stats().parked).toBe(1);
});

test('a non-retryable failure parks the plan at once', async () => {
  const bad = testPlan({ tenant: 't' });
  const source = new FakeSource([bad]);
  const server = await h.server({ source, maxFailures: 5 });
  const exec = new FakeExecutor(async () => {
    throw new Error('unknown chunk encoding');
  });
  h.worker({
    planners: server.address,
    executor: exec,
    classify: () => ({
      retryable: false,
      failingBlock: bad.sources[0]!.ulid,
      noCompactReason: 'block-index-out-of-order-chunk',
      code: 'ERR_TSDB_OUT_OF_ORDER',
      reason: 'corrupt block',
    }),
  });
  await until(() => source.parked.length >= 1, 'parking');
  // The worker's classification reaches the planner: the block, its no-compact reason, the error.
  expect(source.parked[0]).toMatchObject({
    failingBlock: bad.sources[0]!.ulid,
    noCompactReason: 'block-index-out-of-order-chunk',
    reason: 'corrupt block',
  });
  await delay(150);
  expect(exec.started).toHaveLength(1);
});

test('a re-queued plan whose sources are gone is dropped', async () => {
  const plan = testPlan({ tenant: 't' });
  const source = new FakeSource([plan]);
  const server = await h.server({ source });
  const raw = h.raw(server.address);
  raw.init('raw');
  raw.next();
  expect((await raw.message(1)).msg.case).toBe('plan');
  // The worker uploaded the output and marked the sources, then vanished before reporting.
  source.exists = () => false;
  source.plans = [];
  raw.abort();
  await until(() => server.service.stats().running === 0, 'lease dropped');
  await delay(100);
  expect(server.service.stats().pending).toBe(0);
});

test('a retryable failure is retried only after the retry delay', async () => {
  const plan = testPlan({ tenant: 't' });
  const source = new FakeSource([plan]);
  const server = await h.server({ source, retryDelayMs: 300 });
  const startedAt: number[] = [];
  const exec = new FakeExecutor(async () => {
    startedAt.push(Date.now());
    if (startedAt.length === 1) throw new Error('503 slow down');
    return { outputs: [freshUlid()] };
  });
  h.worker({ planners: server.address, executor: exec });
  await until(() => source.completed.length >= 1, 'completion after one retry');
  expect(startedAt).toHaveLength(2);
  expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(280);
});

test('a worker that reconnects before its old stream is noticed gone keeps its plan', async () => {
  const plan = testPlan({ tenant: 't' });
  const source = new FakeSource([plan]);
  const server = await h.server({ source });
  const oldStream = h.raw(server.address);
  oldStream.init('same-worker');
  oldStream.next();
  const m = await oldStream.message(1);
  if (m.msg.case !== 'plan') throw new Error('expected a plan');
  const v = m.msg.value;
  // Same worker id, new stream, the old one still open: the lease moves, no CANCEL.
  const newStream = h.raw(server.address);
  newStream.init('same-worker', 1, [
    {
      planId: v.id,
      epoch: v.epoch,
      tenant: v.tenant,
      groupKey: v.groupKey,
      minTime: v.minTime,
      maxTime: v.maxTime,
      sourceUlids: v.sources.map((b) => b.ulid),
    },
  ]);
  newStream.send({
    msg: { case: 'complete', value: { planId: v.id, epoch: v.epoch, outputUlids: [freshUlid()] } },
  });
  await until(() => source.completed.length >= 1, 'completion on the new stream');
  expect(newStream.received).toHaveLength(0);
  newStream.end();
  expect((await newStream.status).code).toBe(0);
});

test('a result sent again after a broken stream is answered with CANCEL, not completed twice', async () => {
  const plan = testPlan({ tenant: 't' });
  const source = new FakeSource([plan]);
  const server = await h.server({ source });
  const a = h.raw(server.address);
  a.init('w');
  a.next();
  const m = await a.message(1);
  if (m.msg.case !== 'plan') throw new Error('expected a plan');
  const v = m.msg.value;
  a.send({ msg: { case: 'complete', value: { planId: v.id, epoch: v.epoch, outputUlids: [freshUlid()] } } });
  await until(() => source.completed.length >= 1, 'first completion');
  a.abort(); // before the worker saw any proof that COMPLETE arrived
  const b = h.raw(server.address);
  const running = {
    planId: v.id,
    epoch: v.epoch,
    tenant: v.tenant,
    groupKey: v.groupKey,
    minTime: v.minTime,
    maxTime: v.maxTime,
    sourceUlids: v.sources.map((x) => x.ulid),
  };
  b.init('w', 1, [running]);
  b.send({ msg: { case: 'complete', value: { planId: v.id, epoch: v.epoch, outputUlids: [freshUlid()] } } });
  const cancel = await b.message(1);
  expect(cancel.msg.case === 'cancel' && cancel.msg.value.reason).toBe('already completed');
  b.next();
  expect((await b.message(2)).msg.case).toBe('noPlan');
  expect(source.completed).toHaveLength(1);
});
