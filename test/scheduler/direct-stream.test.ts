/**
 * The worker stream as the planner serves it on node:http2 (grpc-stream.ts) and the NEXT that
 * rides inside a COMPLETE (Complete.next): real gRPC over loopback, raw frames where the framing
 * itself is under test.
 */
import * as http2 from 'node:http2';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { afterEach, expect, test } from 'vitest';
import {
  Planner,
  PlannerMessageSchema,
  WorkerMessageSchema,
  type PlannerMessage,
  type WorkerMessage,
} from '../../gen/strata/v1/planner_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Channel } from '../../src/scheduler/channel.js';
import type { Run } from '../../src/scheduler/worker-runs.js';
import { WorkerStream, type Outgoing } from '../../src/scheduler/worker-stream.js';
import { FakeExecutor, FakeSource, Harness, freshUlid, testPlan, until } from './helpers.js';

const h = new Harness();
afterEach(() => h.cleanup());

const H2 = 7_200_000;

/** `n` plans of different tenants: none conflicts with another. */
function independent(n: number): ReturnType<typeof testPlan>[] {
  return Array.from({ length: n }, (_, i) => testPlan({ tenant: `t${i}`, min: i * H2 }));
}

function frame(m: MessageInitShape<typeof WorkerMessageSchema>): Buffer {
  const payload = toBinary(WorkerMessageSchema, create(WorkerMessageSchema, m));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

test('a COMPLETE carrying a NEXT frees the slot first, then is answered with the next plan', async () => {
  const source = new FakeSource(independent(3));
  const server = await h.server({ source });
  const s = h.raw(server.address);
  s.init('one-slot', 1);
  s.next();
  const first = await s.message(1);
  expect(first.msg.case).toBe('plan');
  const p1 = first.msg.case === 'plan' ? first.msg.value : undefined;
  expect(p1!.nextInComplete).toBe(true);
  // Capacity 1: the NEXT is only legal because the COMPLETE before it ended the plan.
  s.send({
    msg: {
      case: 'complete',
      value: { planId: p1!.id, epoch: p1!.epoch, outputUlids: [freshUlid()], next: { maxWaitMs: 0 } },
    },
  });
  const second = await s.message(2);
  expect(second.msg.case).toBe('plan');
  expect(second.msg.case === 'plan' && second.msg.value.id).not.toBe(p1!.id);
  expect(source.completed.map((c) => c.plan.id)).toEqual([p1!.id]);
  expect(server.service.stats().running).toBe(1);
});

test('a worker sends its NEXT inside its COMPLETE to a planner that reads it', async () => {
  const source = new FakeSource(independent(4));
  const server = await h.server({ source });
  const seen: WorkerMessage[] = [];
  const handle = server.service.handle.bind(server.service);
  server.service.handle = (s, m) => {
    seen.push(m);
    return handle(s, m);
  };
  h.worker({ planners: server.address, executor: new FakeExecutor(), capacity: 1 });
  await until(() => source.completed.length === 4, 'four plans completed');
  const completes = seen.filter((m) => m.msg.case === 'complete');
  expect(completes).toHaveLength(4);
  // Every COMPLETE asked for more at once (capacity 1, work left or possibly coming).
  for (const c of completes) expect(c.msg.case === 'complete' && c.msg.value.next).toBeDefined();
  // Only the first NEXT travelled alone (plus any after a NO_PLAN retry, none here: work was queued).
  const firstComplete = seen.indexOf(completes[0]!);
  expect(seen.slice(0, firstComplete).filter((m) => m.msg.case === 'next')).toHaveLength(1);
});

test('frames split across DATA frames and several in one are read; the status comes in trailers', async () => {
  const source = new FakeSource(independent(2));
  const server = await h.server({ source });
  const session = http2.connect(`http://${server.address}`);
  const req = session.request({
    ':method': 'POST',
    ':path': '/strata.v1.Planner/Connect',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  const got: PlannerMessage[] = [];
  let pending = Buffer.alloc(0);
  req.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      const len = pending.readUInt32BE(1);
      got.push(fromBinary(PlannerMessageSchema, pending.subarray(5, 5 + len)));
      pending = pending.subarray(5 + len);
    }
  });
  let trailers: http2.IncomingHttpHeaders | undefined;
  req.on('trailers', (t) => (trailers = t));
  let headers: http2.IncomingHttpHeaders | undefined;
  req.on('response', (hd) => (headers = hd));
  const closed = new Promise<void>((resolve) => req.on('close', () => resolve()));

  // INIT and NEXT in one write.
  req.write(
    Buffer.concat([
      frame({ msg: { case: 'init', value: { workerId: 'raw-frames', capacity: 1 } } }),
      frame({ msg: { case: 'next', value: {} } }),
    ]),
  );
  await until(() => got.length === 1, 'the first PLAN');
  expect(headers?.['content-type']).toBe('application/grpc+proto');
  const p = got[0]!.msg.case === 'plan' ? got[0]!.msg.value : undefined;
  expect(p).toBeDefined();
  // COMPLETE + NEXT split in the middle of the frame header and of the payload.
  const bytes = frame({
    msg: {
      case: 'complete',
      value: { planId: p!.id, epoch: p!.epoch, outputUlids: [freshUlid()], next: {} },
    },
  });
  req.write(bytes.subarray(0, 3));
  await new Promise((r) => setTimeout(r, 50));
  req.write(bytes.subarray(3, 20));
  await new Promise((r) => setTimeout(r, 50));
  expect(source.completed).toHaveLength(0);
  req.write(bytes.subarray(20));
  await until(() => got.length === 2, 'the second PLAN');
  expect(got[1]!.msg.case).toBe('plan');
  expect(source.completed.map((c) => c.plan.id)).toEqual([p!.id]);

  // A second INIT: FailedPrecondition (9) in the trailers, message percent-encoded.
  req.end(frame({ msg: { case: 'init', value: { workerId: 'raw-frames', capacity: 1 } } }));
  await closed;
  session.close();
  expect(trailers?.['grpc-status']).toBe('9');
  expect(decodeURIComponent(String(trailers?.['grpc-message']))).toBe('duplicate INIT');
});

test('the JSON codec is still served (by Connect) on the same port', async () => {
  const source = new FakeSource(independent(1));
  const server = await h.server({ source });
  const manager = new Http2SessionManager(`http://${server.address}`);
  const client = createClient(
    Planner,
    createGrpcTransport({
      baseUrl: `http://${server.address}`,
      sessionManager: manager,
      useBinaryFormat: false,
    }),
  );
  const input = new Channel<MessageInitShape<typeof WorkerMessageSchema>>();
  input.push({ msg: { case: 'init', value: { workerId: 'json', capacity: 1 } } });
  input.push({ msg: { case: 'next', value: {} } });
  const ctl = new AbortController();
  let first: PlannerMessage | undefined;
  try {
    for await (const m of client.connect(input, { signal: ctl.signal })) {
      first = m;
      break;
    }
  } finally {
    ctl.abort();
    manager.abort();
  }
  expect(first?.msg.case).toBe('plan');
  expect(first?.msg.case === 'plan' && first.msg.value.id).toBe(source.plans[0]!.id);
});

test('to a planner that never said it reads Complete.next, the NEXT goes alone; either way its answer confirms the result', async () => {
  for (const reads of [false, true]) {
    const w = new WorkerStream('planner');
    w.nextInComplete = reads;
    const r = { plan: { id: 'p', epoch: 1 }, result: { kind: 'complete', outputs: [] } } as unknown as Run;
    w.result(r);
    w.next(1000);
    expect(w.pendingNexts).toBe(1);
    w.input.close();
    const sent: Outgoing[] = [];
    for await (const m of w.input) sent.push(m);
    expect(sent.map((m) => m.msg?.case)).toEqual(reads ? ['complete'] : ['complete', 'next']);
    const complete = sent[0]!.msg?.case === 'complete' ? sent[0]!.msg.value : undefined;
    expect(complete?.next).toEqual(reads ? { maxWaitMs: 1000 } : undefined);
    expect(w.answered()).toEqual([r]);
  }
});
