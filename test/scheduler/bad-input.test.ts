/**
 * Protocol misuse from hand-driven clients ends that stream with a gRPC status and a log line;
 * a well-behaved worker on the same planner keeps getting plans throughout.
 */
import * as http2 from 'node:http2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Code } from '@connectrpc/connect';
import type { Plan } from '../../src/plan/index.js';
import type { PlannerServer } from '../../src/scheduler/server.js';
import {
  FakeExecutor,
  FakeSource,
  Harness,
  captureLogger,
  delay,
  freshUlid,
  testPlan,
  until,
  type RawStream,
} from './helpers.js';

const H2 = 7_200_000;
const h = new Harness();
const log = captureLogger();
let server: PlannerServer;
let source: FakeSource;

beforeAll(async () => {
  const plans: Plan[] = [];
  for (let i = 0; i < 400; i++) plans.push(testPlan({ tenant: `t${i % 4}`, min: i * H2 }));
  source = new FakeSource(plans);
  server = await h.server({ source, logger: log.logger });
  const exec = new FakeExecutor(async () => {
    await delay(5);
    return { outputs: [freshUlid()] };
  });
  h.worker({ planners: server.address, executor: exec });
  await until(() => source.completed.length >= 3, 'the good worker running');
});

afterAll(() => h.cleanup());

/** Runs `misuse` on a fresh stream and returns the status it ended with. */
async function misuse(
  drive: (s: RawStream) => Promise<void> | void,
): Promise<{ code: Code; message: string }> {
  const before = source.completed.length;
  const s = h.raw(server.address);
  await drive(s);
  const st = await s.status;
  // The good worker is unaffected: it completes more plans after every misuse.
  await until(() => source.completed.length > before + 2, 'the good worker continuing');
  return st;
}

test('COMPLETE of a plan the stream does not hold → FAILED_PRECONDITION', async () => {
  const other = source.plans[399]!;
  const st = await misuse((s) => {
    s.init('liar');
    s.send({ msg: { case: 'complete', value: { planId: other.id, epoch: 1n, outputUlids: [] } } });
  });
  expect(st.code).toBe(Code.FailedPrecondition);
  expect(st.message).toMatch(/does not hold/);
  expect(source.completed.some((c) => c.plan.id === other.id && c.outputs.length === 0)).toBe(false);
});

test('duplicate INIT → FAILED_PRECONDITION', async () => {
  const st = await misuse((s) => {
    s.init('twice');
    s.init('twice');
  });
  expect(st).toEqual({ code: Code.FailedPrecondition, message: 'duplicate INIT' });
});

test('NEXT before INIT → FAILED_PRECONDITION', async () => {
  const st = await misuse((s) => s.next());
  expect(st).toEqual({ code: Code.FailedPrecondition, message: 'NEXT before INIT' });
});

test('an empty WorkerMessage → INVALID_ARGUMENT', async () => {
  const st = await misuse((s) => s.send({}));
  expect(st.code).toBe(Code.InvalidArgument);
});

test('INIT with capacity 0 or no worker id → INVALID_ARGUMENT', async () => {
  expect((await misuse((s) => s.init('zero', 0))).code).toBe(Code.InvalidArgument);
  expect((await misuse((s) => s.init('', 1))).code).toBe(Code.InvalidArgument);
});

test('NEXT beyond the announced capacity → FAILED_PRECONDITION', async () => {
  const st = await misuse(async (s) => {
    s.init('greedy', 1);
    s.next();
    s.next();
  });
  expect(st.code).toBe(Code.FailedPrecondition);
  expect(st.message).toMatch(/capacity 1/);
});

test('a malformed COMPLETE of a held plan → INVALID_ARGUMENT, and the plan is re-queued', async () => {
  let held = '';
  const st = await misuse(async (s) => {
    s.init('sloppy');
    s.next();
    const m = await s.message(1);
    if (m.msg.case !== 'plan') throw new Error(`expected a plan, got ${m.msg.case}`);
    held = m.msg.value.id;
    s.send({
      msg: { case: 'complete', value: { planId: held, epoch: m.msg.value.epoch, outputUlids: ['nope'] } },
    });
  });
  expect(st.code).toBe(Code.InvalidArgument);
  expect(st.message).toMatch(/not a ULID/);
  await until(
    () => source.completed.some((c) => c.plan.id === held),
    'the re-queued plan completed by the good worker',
  );
});

test('a report with the wrong epoch, or a failing block outside the plan → rejected', async () => {
  const wrongEpoch = await misuse(async (s) => {
    s.init('confused');
    s.next();
    const m = await s.message(1);
    if (m.msg.case !== 'plan') throw new Error('expected a plan');
    s.send({ msg: { case: 'progress', value: { planId: m.msg.value.id, epoch: 99n, phase: 'x' } } });
  });
  expect(wrongEpoch.code).toBe(Code.FailedPrecondition);
  expect(wrongEpoch.message).toMatch(/epoch 99/);
  const outside = await misuse(async (s) => {
    s.init('blamer');
    s.next();
    const m = await s.message(1);
    if (m.msg.case !== 'plan') throw new Error('expected a plan');
    const v = m.msg.value;
    s.send({ msg: { case: 'failed', value: { planId: v.id, epoch: v.epoch, failingBlock: freshUlid() } } });
  });
  expect(outside.code).toBe(Code.InvalidArgument);
  expect(outside.message).toMatch(/not a source/);
  expect(source.parked).toHaveLength(0);
});

test('INIT reporting a plan from a newer epoch → FAILED_PRECONDITION (this planner is stale)', async () => {
  const st = await misuse((s) =>
    s.init('future', 1, [
      {
        planId: 'x/y/z',
        epoch: 5n,
        tenant: 'x',
        groupKey: 'y',
        minTime: 0n,
        maxTime: 1n,
        sourceUlids: [freshUlid()],
      },
    ]),
  );
  expect(st.code).toBe(Code.FailedPrecondition);
});

test('a stream that never sends INIT is closed after the INIT timeout', async () => {
  const quiet = await h.server({ source: new FakeSource(), initTimeoutMs: 200 });
  const s = h.raw(quiet.address);
  const t0 = Date.now();
  const st = await s.status;
  expect(st.code).toBe(Code.DeadlineExceeded);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
});

/** Sends raw gRPC frames on a plain HTTP/2 stream; resolves with grpc-status. */
function rawGrpc(address: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': '/strata.v1.Planner/Connect',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status: number | undefined;
    const take = (headers: http2.IncomingHttpHeaders): void => {
      const s = headers['grpc-status'];
      if (s !== undefined) status = Number(s);
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => {});
    req.on('close', () => {
      session.close();
      if (status === undefined) reject(new Error('no grpc-status'));
      else resolve(status);
    });
    req.end(body);
  });
}

function frame(payload: Buffer, declaredLength = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([head, payload]);
}

test('garbage on the wire → a gRPC error status, and the planner keeps serving', async () => {
  const before = source.completed.length;
  // Field 1 (init), length 127, but only one byte follows: not a WorkerMessage.
  const truncated = await rawGrpc(server.address, frame(Buffer.from([0x0a, 0x7f, 0x01])));
  // A frame header announcing more bytes than the stream carries.
  const short = await rawGrpc(server.address, frame(Buffer.from([0x12, 0x00]), 1000));
  // Invalid wire type 7.
  const wireType = await rawGrpc(server.address, frame(Buffer.from([0x0f, 0x00])));
  for (const code of [truncated, short, wireType]) {
    expect(code).not.toBe(0);
    expect([Code.InvalidArgument, Code.Internal]).toContain(code);
  }
  await until(() => source.completed.length > before + 2, 'the good worker continuing');
});

test('every rejection was logged with its code', () => {
  const rejected = log.lines.filter((l) => l.msg === 'rejected worker stream');
  const codes = new Set(rejected.map((l) => l.fields['code']));
  expect(codes).toContain('FailedPrecondition');
  expect(codes).toContain('InvalidArgument');
  expect(rejected.some((l) => l.fields['worker'] === 'liar')).toBe(true);
});
