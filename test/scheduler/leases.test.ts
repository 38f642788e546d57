import { describe, expect, test } from 'vitest';
import { LeaseTable, requeueLeases } from '../../src/scheduler/leases.js';
import type { Plan } from '../../src/plan/index.js';
import { testPlan } from './helpers.js';

function table(maxFailures = 3) {
  const clock = { t: 0 };
  const leases = new LeaseTable({ now: () => clock.t, timeoutMs: 1000, maxFailures });
  return { clock, leases };
}

describe('LeaseTable', () => {
  test('PROGRESS refreshes a lease; an unrefreshed one expires', () => {
    const { clock, leases } = table();
    const a = leases.grant(testPlan({ tenant: 't' }), 's1', 'w1');
    const b = leases.grant(testPlan({ tenant: 't', min: 1e8 }), 's1', 'w1');
    clock.t = 800;
    leases.refresh(a, { phase: 'upload', bytesDone: 5, bytesTotal: 10 });
    clock.t = 1500;
    expect(leases.expire().map((l) => l.plan.id)).toEqual([b.plan.id]);
    expect(leases.get(a.plan.id)?.progress).toEqual({ phase: 'upload', bytesDone: 5, bytesTotal: 10 });
    clock.t = 1801;
    expect(leases.expire().map((l) => l.plan.id)).toEqual([a.plan.id]);
    expect(leases.size).toBe(0);
  });

  test('a closed stream gives back all its leases, and only its own', () => {
    const { leases } = table();
    const a = leases.grant(testPlan({ tenant: 't' }), 's1', 'w1');
    leases.grant(testPlan({ tenant: 't', min: 1e8 }), 's2', 'w2');
    expect(leases.heldBy('s1', a.plan.id)).toBe(a);
    expect(leases.heldBy('s2', a.plan.id)).toBeUndefined();
    expect(leases.dropStream('s1').map((l) => l.plan.id)).toEqual([a.plan.id]);
    expect(leases.countFor('s1')).toBe(0);
    expect(leases.countFor('s2')).toBe(1);
  });

  test('a plan is parked after N retryable failures, naming the failing block', () => {
    const { leases } = table(3);
    const p = testPlan({ tenant: 't' });
    const bad = p.sources[1]!.ulid;
    leases.grant(p, 's1', 'w1');
    expect(leases.fail(p.id, { reason: 'io', retryable: true, failingBlock: undefined })).toEqual({
      action: 'retry',
      failures: 1,
    });
    leases.grant(p, 's2', 'w2');
    expect(leases.fail(p.id, { reason: 'corrupt', retryable: true, failingBlock: bad }).action).toBe('retry');
    leases.grant(p, 's1', 'w1');
    const out = leases.fail(p.id, { reason: 'io again', retryable: true, failingBlock: undefined });
    expect(out).toEqual({
      action: 'park',
      failures: 3,
      failingBlock: bad,
      noCompactReason: undefined,
      reason: 'failed 3 times, last: io again',
      lastReason: 'io again',
    });
    expect(leases.isParked(p.id)).toBe(true);
    expect(leases.parked()[0]).toMatchObject({ plan: p, failures: 3, failingBlock: bad });
    expect(leases.unpark(p.id)).toBe(true);
  });

  test('a non-retryable failure parks at once; a completion forgets earlier failures', () => {
    const { leases } = table(3);
    const p = testPlan({ tenant: 't' });
    leases.grant(p, 's1', 'w1');
    leases.fail(p.id, { reason: 'io', retryable: true, failingBlock: undefined });
    leases.grant(p, 's1', 'w1');
    leases.complete(p.id);
    expect(leases.failureCount(p.id)).toBe(0);
    const q = testPlan({ tenant: 't', min: 1e8 });
    leases.grant(q, 's1', 'w1');
    const out = leases.fail(q.id, {
      reason: 'bad chunk',
      retryable: false,
      failingBlock: q.sources[0]!.ulid,
    });
    expect(out).toMatchObject({ action: 'park', failures: 1, failingBlock: q.sources[0]!.ulid });
  });

  test('epochs: plans are stamped with the current epoch; adopted ones keep theirs', () => {
    const { leases } = table();
    leases.setEpoch(7);
    const g = leases.grant(testPlan({ tenant: 't' }), 's1', 'w1');
    const a = leases.adopt(testPlan({ tenant: 't', min: 1e8 }), 's1', 'w1', 5);
    expect([g.epoch, g.adopted, a.epoch, a.adopted]).toEqual([7, false, 5, true]);
    expect([leases.relation(7), leases.relation(5), leases.relation(8)]).toEqual([
      'current',
      'older',
      'newer',
    ]);
    expect(() => leases.adopt(g.plan, 's2', 'w2', 7)).toThrow(/already leased/);
  });
});

describe('requeueLeases', () => {
  test('re-queues only plans whose sources still exist; a failing check drops the plan', async () => {
    const { leases } = table();
    const keep = leases.grant(testPlan({ tenant: 't' }), 's1', 'w1');
    const gone = leases.grant(testPlan({ tenant: 't', min: 1e8 }), 's1', 'w1');
    const broken = leases.grant(testPlan({ tenant: 't', min: 2e8 }), 's1', 'w1');
    const requeued: Plan[] = [];
    const dropped: string[] = [];
    const res = await requeueLeases(leases.dropStream('s1'), {
      sourcesExist: async (p) => {
        if (p.id === broken.plan.id) throw new Error('bucket unreachable');
        return p.id !== gone.plan.id;
      },
      requeue: (p) => requeued.push(p),
      drop: (p, why) => dropped.push(`${p.id}: ${why}`),
    });
    expect(requeued.map((p) => p.id)).toEqual([keep.plan.id]);
    expect(res.dropped.map((p) => p.id).sort()).toEqual([gone.plan.id, broken.plan.id].sort());
    expect(dropped.join('\n')).toMatch(/sources no longer exist/);
    expect(dropped.join('\n')).toMatch(/bucket unreachable/);
  });
});
