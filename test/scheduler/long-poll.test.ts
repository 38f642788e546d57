/** NEXT with max_wait_ms: held by the planner until a plan can run (long poll). */
import { Code } from '@connectrpc/connect';
import { afterEach, expect, test } from 'vitest';
import { FakeSource, Harness, delay, freshUlid, testPlan, until, type RawStream } from './helpers.js';

const h = new Harness();
afterEach(() => h.cleanup());

function heldNext(s: RawStream, maxWaitMs: number): void {
  s.send({ msg: { case: 'next', value: { maxWaitMs } } });
}

/** Two plans of one tenant and group over the same range: the second waits for the first. */
function conflicting(): ReturnType<typeof testPlan>[] {
  return [testPlan({ tenant: 't' }), testPlan({ tenant: 't' })];
}

test('a held NEXT is answered with the plan the end of a conflicting one makes runnable', async () => {
  const [a, b] = conflicting();
  const source = new FakeSource([a!, b!]);
  const server = await h.server({ source });
  const first = h.raw(server.address);
  first.init('first');
  first.next();
  const m = await first.message(1);
  expect(m.msg.case).toBe('plan');
  const taken = m.msg.case === 'plan' ? m.msg.value : undefined;

  const waiting = h.raw(server.address);
  waiting.init('waiting');
  heldNext(waiting, 30_000);
  await delay(300);
  expect(waiting.received).toHaveLength(0); // held, not NO_PLAN

  first.send({
    msg: { case: 'complete', value: { planId: taken!.id, epoch: taken!.epoch, outputUlids: [freshUlid()] } },
  });
  const got = await waiting.message(1, 3000);
  expect(got.msg.case).toBe('plan');
  expect(got.msg.case === 'plan' && got.msg.value.id).toBe(taken!.id === a!.id ? b!.id : a!.id);
});

test('a held NEXT whose wait runs out gets NO_PLAN with retry 0; a NEXT without a wait is answered at once', async () => {
  const [a, b] = conflicting();
  const server = await h.server({ source: new FakeSource([a!, b!]) });
  const first = h.raw(server.address);
  first.init('first');
  first.next();
  expect((await first.message(1)).msg.case).toBe('plan');

  const waiting = h.raw(server.address);
  waiting.init('waiting');
  const t0 = Date.now();
  heldNext(waiting, 250);
  const timedOut = await waiting.message(1, 3000);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
  expect(timedOut.msg.case === 'noPlan' && timedOut.msg.value.retryAfterMs).toBe(0);

  waiting.next();
  const now = await waiting.message(2, 1000);
  expect(now.msg.case === 'noPlan' && now.msg.value.retryAfterMs).toBe(30); // FAST.noPlanRetryMs
});

test('with nothing running, pending or being planned, a held NEXT gets NO_PLAN at once', async () => {
  const source = new FakeSource([]);
  const server = await h.server({ source });
  await until(() => source.passes >= 1, 'the first pass');
  await server.service.replan();
  const s = h.raw(server.address);
  s.init('idle');
  const t0 = Date.now();
  heldNext(s, 30_000);
  const m = await s.message(1, 2000);
  expect(Date.now() - t0).toBeLessThan(1500);
  expect(m.msg.case === 'noPlan' && m.msg.value.retryAfterMs).toBe(30);
});

test('held NEXTs count against the capacity', async () => {
  const [a, b] = conflicting();
  const server = await h.server({ source: new FakeSource([a!, b!]) });
  const first = h.raw(server.address);
  first.init('first');
  first.next();
  expect((await first.message(1)).msg.case).toBe('plan');

  const greedy = h.raw(server.address);
  greedy.init('greedy', 1);
  heldNext(greedy, 30_000);
  heldNext(greedy, 30_000);
  const status = await greedy.status;
  expect(status.code).toBe(Code.FailedPrecondition);
  expect(status.message).toContain('waiting NEXTs');
});

test('the held NEXT of a stream that closed gets nothing; the plan goes to the next NEXT', async () => {
  const [a, b] = conflicting();
  const server = await h.server({ source: new FakeSource([a!, b!]) });
  const first = h.raw(server.address);
  first.init('first');
  first.next();
  const m = await first.message(1);
  const taken = m.msg.case === 'plan' ? m.msg.value : undefined;

  const gone = h.raw(server.address);
  gone.init('gone');
  heldNext(gone, 30_000);
  await until(() => server.service.workers().length === 2, 'both streams');
  gone.abort();
  await until(() => server.service.workers().length === 1, 'the closed stream noticed');

  first.send({
    msg: { case: 'complete', value: { planId: taken!.id, epoch: taken!.epoch, outputUlids: [freshUlid()] } },
  });
  heldNext(first, 30_000);
  const next = await first.message(2, 3000);
  expect(next.msg.case).toBe('plan');
  expect(server.service.stats().running).toBe(1);
});
