/** The hand-written PLAN encoder writes exactly what protobuf-es' toBinary writes. */
import { create, equals, fromBinary, isMessage, toBinary } from '@bufbuild/protobuf';
import { expect, test } from 'vitest';
import { PlanAssignmentSchema, PlannerMessageSchema } from '../../gen/strata/v1/planner_pb.js';
import { planToWire } from '../../src/scheduler/codec.js';
import { encodePlanFrame } from '../../src/scheduler/plan-frame.js';
import { testPlan } from './helpers.js';

function viaProtobufEs(m: ReturnType<typeof planToWire>): Buffer {
  const payload = toBinary(
    PlannerMessageSchema,
    create(PlannerMessageSchema, { msg: { case: 'plan', value: m } }),
  );
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

test('PLAN frames are byte for byte those of toBinary', () => {
  const cases = [
    planToWire(testPlan({ tenant: 't' }), 1),
    planToWire(testPlan({ tenant: 'tenant-ü-日本', min: 7_200_000 * 12 }), 2 ** 40, 'planner-7'),
    { ...planToWire(testPlan({ tenant: 'x' }), 3), nextInComplete: true },
    planToWire(testPlan({ tenant: 'long-'.repeat(100) }), 9), // multi-byte lengths
  ];
  const withLabels = planToWire(testPlan({ tenant: 'y' }), 5);
  withLabels.output!.externalLabels = { region: 'eu-west-1', '': '', empty: '', ünï: 'cödé' };
  withLabels.output!.replicaLabels = ['replica', '', 'rule_replica'];
  withLabels.output!.resolution = 300_000n;
  withLabels.output!.maxSamplesPerChunk = 240;
  withLabels.output!.level = 3;
  withLabels.kind = 3;
  cases.push(withLabels);
  const empty = planToWire(testPlan({ tenant: 'z' }), 0);
  empty.sources = [];
  empty.minTime = 0n;
  empty.groupKey = '';
  cases.push(empty);
  for (const m of cases) {
    const fast = encodePlanFrame(m);
    expect(fast).toBeDefined();
    expect(fast!.equals(viaProtobufEs(m))).toBe(true);
    const back = fromBinary(PlannerMessageSchema, fast!.subarray(5));
    expect(back.msg.case === 'plan' && back.msg.value.id).toBe(m.id);
  }
});

test("planToWire's literal messages equal what create makes of the same fields", () => {
  for (const w of [
    planToWire(testPlan({ tenant: 't' }), 1),
    planToWire(testPlan({ tenant: 'u', min: 7_200_000 }), 2, 'p'),
  ]) {
    expect(isMessage(w, PlanAssignmentSchema)).toBe(true);
    const o = w.output!;
    const made = create(PlanAssignmentSchema, {
      id: w.id,
      tenant: w.tenant,
      groupKey: w.groupKey,
      kind: w.kind,
      minTime: w.minTime,
      maxTime: w.maxTime,
      sources: w.sources.map((b) => ({
        ulid: b.ulid,
        minTime: b.minTime,
        maxTime: b.maxTime,
        level: b.level,
      })),
      output: {
        dedup: o.dedup,
        replicaLabels: [...o.replicaLabels],
        resolution: o.resolution,
        externalLabels: { ...o.externalLabels },
        maxSamplesPerChunk: o.maxSamplesPerChunk,
        level: o.level,
      },
      epoch: w.epoch,
      plannerId: w.plannerId,
    });
    expect(w).toStrictEqual(made);
    expect(equals(PlanAssignmentSchema, w, made)).toBe(true);
  }
});

test('values the fast path does not encode (negative or beyond 2^53) are left to toBinary', () => {
  const m = planToWire(testPlan({ tenant: 't' }), 1);
  m.minTime = -1n;
  expect(encodePlanFrame(m)).toBeUndefined();
  m.minTime = 2n ** 60n;
  expect(encodePlanFrame(m)).toBeUndefined();
});
