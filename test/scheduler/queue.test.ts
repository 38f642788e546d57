import { describe, expect, test } from 'vitest';
import { compareForPriority, plansConflict } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/index.js';
import { PlanQueue, plansByTenant, type Assignment } from '../../src/scheduler/queue.js';
import { freshUlid, testPlan } from './helpers.js';

const H2 = 7_200_000;

function drain(q: PlanQueue, release = true): Plan[] {
  const out: Plan[] = [];
  for (let a = q.next(); a !== undefined; a = q.next()) {
    out.push(a.plan);
    if (release) q.release(a.plan.id);
  }
  return out;
}

describe('PlanQueue fairness', () => {
  test('a tenant with hundreds of plans does not starve ten small ones', () => {
    const plans: Plan[] = [];
    for (let i = 0; i < 500; i++) plans.push(testPlan({ tenant: 'big', min: i * H2 }));
    for (let t = 0; t < 10; t++) {
      for (let i = 0; i < 3; i++) plans.push(testPlan({ tenant: `small-${t}`, min: i * H2 }));
    }
    const q = new PlanQueue();
    q.replace(plansByTenant(plans));
    // One worker slot: take, finish, take...
    const order = drain(q).map((p) => p.tenant);
    expect(order).toHaveLength(530);
    const bigTenth = nth(order, 'big', 10);
    for (let t = 0; t < 10; t++) expect(order.indexOf(`small-${t}`)).toBeLessThan(bigTenth);
    // Round-robin while everybody has work: the first 11 handouts cover all 11 tenants.
    expect(new Set(order.slice(0, 11)).size).toBe(11);
    // All small tenants are done within the first 3 rounds.
    const lastSmall = Math.max(...order.map((t, i) => (t.startsWith('small') ? i : -1)));
    expect(lastSmall).toBeLessThan(33);
  });

  test('fewest running plans first: a tenant holding slots yields to the others', () => {
    const q = new PlanQueue();
    const plans = [
      ...Array.from({ length: 5 }, (_, i) => testPlan({ tenant: 'a', min: i * H2 })),
      ...Array.from({ length: 5 }, (_, i) => testPlan({ tenant: 'b', min: i * H2 })),
    ];
    q.replace(plansByTenant(plans));
    // Nothing completes: handouts alternate a, b, a, b...
    const taken = [q.next()!, q.next()!, q.next()!, q.next()!].map((a) => a.plan.tenant);
    expect(taken).toEqual(['a', 'b', 'a', 'b']);
    // b finishes both: it now has fewer running plans and gets the next two.
    for (const id of [...plans.filter((p) => p.tenant === 'b').map((p) => p.id)]) q.release(id);
    expect(q.next()!.plan.tenant).toBe('b');
    expect(q.next()!.plan.tenant).toBe('b');
    expect(q.next()!.plan.tenant).toBe('a');
  });

  test('within a tenant: lower output level first, then older data', () => {
    const q = new PlanQueue();
    const plans = [
      testPlan({ tenant: 't', min: 5 * H2, level: 1 }),
      testPlan({ tenant: 't', min: 0, max: 4 * H2, level: 2 }),
      testPlan({ tenant: 't', min: 2 * H2, level: 1 }),
    ];
    q.replace(plansByTenant(plans));
    expect(drain(q)).toEqual([...plans].sort(compareForPriority));
  });

  test('work-conserving: a single tenant gets every slot', () => {
    const q = new PlanQueue();
    q.replace(plansByTenant(Array.from({ length: 4 }, (_, i) => testPlan({ tenant: 'only', min: i * H2 }))));
    expect(drain(q, false)).toHaveLength(4);
    expect(q.stats()).toEqual({ pending: 0, running: 4, tenants: 1 });
  });
});

describe('PlanQueue conflicts', () => {
  test('never hands out a plan that conflicts with a running one', () => {
    const shared = freshUlid();
    const a = testPlan({ tenant: 't', sources: [shared, freshUlid()] });
    const b = testPlan({ tenant: 't', min: 10 * H2, sources: [shared, freshUlid()] });
    const c = testPlan({ tenant: 't', min: 20 * H2 });
    expect(plansConflict(a, b)).toBe(true);
    const q = new PlanQueue();
    q.replace(plansByTenant([a, b, c]));
    expect(q.next()!.plan.id).toBe(a.id);
    expect(q.next()!.plan.id).toBe(c.id); // b skipped: shares a block with a
    expect(q.next()).toBeUndefined();
    q.release(a.id);
    expect(q.next()!.plan.id).toBe(b.id);
  });

  test('time overlap within a group conflicts; other groups do not', () => {
    const q = new PlanQueue();
    const running = testPlan({ tenant: 't', min: 0, max: 4 * H2 });
    const overlapping = testPlan({ tenant: 't', min: 2 * H2, max: 6 * H2 });
    const otherGroup = testPlan({ tenant: 't', group: '0@999', min: 0, max: 4 * H2 });
    q.adopt(running);
    q.replace(plansByTenant([overlapping, otherGroup]));
    expect(q.runningConflict(overlapping)?.id).toBe(running.id);
    expect(q.next()!.plan.id).toBe(otherGroup.id);
    expect(q.next()).toBeUndefined();
  });

  test('a blocked tenant does not block the others and comes back when its plan ends', () => {
    const q = new PlanQueue();
    const shared = freshUlid();
    const r = testPlan({ tenant: 'x', sources: [shared, freshUlid()] });
    q.adopt(r);
    const blocked = testPlan({ tenant: 'x', min: 10 * H2, sources: [shared, freshUlid()] });
    const other = testPlan({ tenant: 'y' });
    q.replace(plansByTenant([blocked, other]));
    expect(q.next()!.plan.id).toBe(other.id);
    expect(q.next()).toBeUndefined();
    q.release(r.id);
    expect(q.next()!.plan.id).toBe(blocked.id);
  });
});

describe('PlanQueue bookkeeping', () => {
  test('replace keeps running plans running and enqueue times of kept plans', () => {
    let now = 1000;
    const q = new PlanQueue({ now: () => now });
    const p1 = testPlan({ tenant: 't' });
    const p2 = testPlan({ tenant: 't', min: H2 });
    const p3 = testPlan({ tenant: 'u' });
    q.replace(plansByTenant([p1, p2]));
    expect(q.next()!.plan.id).toBe(p1.id);
    now = 2000;
    const r = q.replace(plansByTenant([p1, p2, p3]));
    expect(r).toEqual({ added: 1, removed: 0, running: 1 });
    expect(q.isRunning(p1.id)).toBe(true);
    expect(q.isPending(p1.id)).toBe(false);
    const next = [q.next()!, q.next()!];
    expect(next.find((a) => a.plan.id === p2.id)!.enqueuedAt).toBe(1000);
    expect(next.find((a) => a.plan.id === p3.id)!.enqueuedAt).toBe(2000);
    // A pass without p2 (still running) and p3 (running) drops nothing running.
    expect(q.replace(plansByTenant([]))).toEqual({ added: 0, removed: 0, running: 0 });
    expect(q.stats().running).toBe(3);
  });

  test('a plan can be re-queued after release, not while running or pending', () => {
    const q = new PlanQueue();
    const p = testPlan({ tenant: 't' });
    q.replace(plansByTenant([p]));
    const a = q.next()!;
    expect(q.push(p)).toBe(false);
    q.release(a.plan.id);
    expect(q.push(p)).toBe(true);
    expect(q.push(p)).toBe(false);
    expect(q.next()!.plan.id).toBe(p.id);
  });

  test('adopt takes the pending copy out; remove drops a pending plan', () => {
    const q = new PlanQueue();
    const p = testPlan({ tenant: 't' });
    const o = testPlan({ tenant: 't', min: 5 * H2 });
    q.replace(plansByTenant([p, o]));
    q.adopt(p);
    expect(q.isRunning(p.id)).toBe(true);
    expect(q.remove(o.id)).toBe(true);
    expect(q.next()).toBeUndefined();
    expect(q.stats()).toEqual({ pending: 0, running: 1, tenants: 1 });
  });

  test('10,000 tenants: every tenant is served once before any tenant twice', () => {
    const plans: Plan[] = [];
    for (let t = 0; t < 10_000; t++) {
      for (let i = 0; i < 2; i++) plans.push(testPlan({ tenant: `t${t}`, min: i * H2 }));
    }
    const q = new PlanQueue();
    const t0 = performance.now();
    q.replace(plansByTenant(plans));
    const firstRound = new Set<string>();
    for (let i = 0; i < 10_000; i++) firstRound.add(q.next()!.plan.tenant);
    expect(firstRound.size).toBe(10_000);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

function nth(xs: readonly string[], x: string, n: number): number {
  let seen = 0;
  for (let i = 0; i < xs.length; i++) if (xs[i] === x && ++seen === n) return i;
  return -1;
}

test('removeWhere drops the pending plans the predicate calls stale', () => {
  const q = new PlanQueue();
  const done = testPlan({ tenant: 't' });
  const reader = testPlan({ tenant: 't', group: '0@5', sources: [done.sources[1]!.ulid, freshUlid()] });
  const other = testPlan({ tenant: 't', min: 10 * H2 });
  q.replace(plansByTenant([reader, other]));
  const used = new Set(done.sources.map((b) => b.ulid));
  expect(q.removeWhere('t', (p) => p.sources.some((b) => used.has(b.ulid)))).toEqual([reader.id]);
  expect(q.removeWhere('nobody', () => true)).toEqual([]);
  expect(q.stats().pending).toBe(1);
  expect(q.next()!.plan.id).toBe(other.id);
});

test('replace is incremental: only the difference is added and removed', () => {
  const q = new PlanQueue();
  const a1 = testPlan({ tenant: 'a' });
  const a2 = testPlan({ tenant: 'a', min: H2 });
  const b1 = testPlan({ tenant: 'b' });
  const b2 = testPlan({ tenant: 'b', min: H2 });
  expect(q.replace(plansByTenant([a1, a2, b1, b1]))).toEqual({ added: 3, removed: 0, running: 0 });
  expect(q.replace(plansByTenant([a2, b1, b2]))).toEqual({ added: 1, removed: 1, running: 0 });
  expect([a1, a2, b1, b2].map((p) => q.isPending(p.id))).toEqual([false, true, true, true]);
  expect(q.replace(plansByTenant([a2, b1, b2]))).toEqual({ added: 0, removed: 0, running: 0 });
  expect(drain(q).map((p) => p.id)).toEqual([a2.id, b1.id, b2.id]);
  expect(q.replace(plansByTenant([]))).toEqual({ added: 0, removed: 0, running: 0 });
  expect(q.stats()).toEqual({ pending: 0, running: 0, tenants: 0 });
});

describe('PlanQueue: tenants handed back unchanged', () => {
  test('the same array is left as it is; a new array (or the tenant missing) is compared plan by plan', () => {
    let now = 1000;
    const q = new PlanQueue({ now: () => now });
    const t1 = testPlan({ tenant: 't' });
    const t2 = testPlan({ tenant: 't', min: H2 });
    const u1 = testPlan({ tenant: 'u' });
    const tList = [t1, t2];
    const uList = [u1];
    const pass = (t: readonly Plan[] = tList): Map<string, readonly Plan[]> =>
      new Map([
        ['t', t],
        ['u', uList],
      ]);
    q.replace(pass());
    const first = q.next()!.plan;
    expect(first.id).toBe(t1.id);
    // Released without a re-queue (e.g. a failed plan waiting for its retry): the same array does
    // not bring it back, and nothing is counted.
    q.release(first.id);
    now = 2000;
    expect(q.replace(pass())).toEqual({ added: 0, removed: 0, running: 0 });
    expect(q.isPending(t1.id)).toBe(false);
    expect(q.stats().pending).toBe(2);
    // A new array with the same plans is compared: t1 comes back, t2 keeps its enqueue time.
    expect(q.replace(pass([t1, t2]))).toEqual({ added: 1, removed: 0, running: 0 });
    expect(q.isPending(t1.id)).toBe(true);
    const handed: Assignment[] = [];
    for (let a = q.next(); a !== undefined; a = q.next()) handed.push(a);
    expect(handed.map((a) => a.plan.id).sort()).toEqual([t1.id, t2.id, u1.id].sort());
    expect(handed.find((a) => a.plan.id === t2.id)!.enqueuedAt).toBe(1000);
    expect(handed.find((a) => a.plan.id === t1.id)!.enqueuedAt).toBe(2000);
    for (const a of handed) q.release(a.plan.id);
    // u missing from a pass: its plans go, even though its array did not change before.
    q.replace(pass());
    expect(q.stats().pending).toBe(3);
    expect(q.replace(new Map([['t', tList]]))).toEqual({ added: 0, removed: 1, running: 0 });
    expect(q.isPending(u1.id)).toBe(false);
    // ... and back with its old array, it is compared again (not taken as unchanged).
    expect(q.replace(pass())).toEqual({ added: 1, removed: 0, running: 0 });
    expect(q.isPending(u1.id)).toBe(true);
  });
});
