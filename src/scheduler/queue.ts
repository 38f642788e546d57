/**
 * The planner's queue of pending plans: fair between tenants, conflict-free with running plans.
 *
 * Policy: the next plan comes from the tenant with the fewest running plans; ties go to the tenant
 * served least recently (never-served tenants first, then in the order they appeared). Within a
 * tenant, `compareForPriority` order (lower output level, then older data), skipping plans that
 * conflict with one of the tenant's running plans.
 *
 * Why this and not plain round-robin or deficit round-robin by handouts: the scarce resource is
 * worker slots, and plans differ in cost by orders of magnitude (a 2h merge vs a 14d one). Counting
 * running plans charges a tenant for as long as its work occupies a slot, without having to guess
 * plan costs up front. A tenant with 10,000 pending plans gets at most one slot more than anybody
 * else who still has work, and all the slots when nobody else does (work-conserving). When plans
 * finish quickly the running counts are all 0 and least-recently-served makes it a round-robin, so
 * a tenant with 3 plans waits at most one round, never behind a big tenant's backlog.
 *
 * Conflicts only exist inside a tenant (`plansConflict`), so a tenant whose every pending plan
 * conflicts with its own running ones is set aside until its running or pending set changes.
 * Everything is O(log tenants) per operation except the scan inside one tenant.
 */
import { compareForPriority, plansConflict } from '../plan/priority.js';
import type { Plan, PlanFootprint } from '../plan/types.js';
import { IndexedHeap } from './heap.js';

export interface QueueOptions {
  /** Clock for enqueue times (wait-time statistics). Default Date.now. */
  readonly now?: () => number;
}

export interface Assignment {
  readonly plan: Plan;
  /** When the plan (by id) first entered the queue, or was re-queued. */
  readonly enqueuedAt: number;
}

export interface ReplaceResult {
  /** Plans that were not pending before. */
  readonly added: number;
  /** Pending plans that the new set no longer has. */
  readonly removed: number;
  /** Plans of the new set skipped because they are running (tenants left as they were uncounted). */
  readonly running: number;
}

/**
 * A planning pass's plans by tenant (tenants without plans may be left out). A source may hand
 * back a tenant's array of the previous pass when nothing of that tenant changed.
 */
export type PlanSet = ReadonlyMap<string, readonly Plan[]>;

/** Groups plans by tenant (a new array per tenant). */
export function plansByTenant(plans: readonly Plan[]): Map<string, Plan[]> {
  const out = new Map<string, Plan[]>();
  for (const p of plans) {
    const list = out.get(p.tenant);
    if (list === undefined) out.set(p.tenant, [p]);
    else list.push(p);
  }
  return out;
}

export interface QueueStats {
  readonly pending: number;
  readonly running: number;
  /** Tenants with pending or running plans. */
  readonly tenants: number;
}

interface Pending {
  readonly plan: Plan;
  readonly at: number;
  /** replace() generation that last saw the plan. */
  gen: number;
  readonly tenant: TenantState;
}

interface TenantState {
  readonly name: string;
  /** Arrival order, the last tie-break. */
  readonly order: number;
  /** Pending plans, worst first: the best candidate is at the end (cheap pop). */
  pending: Plan[];
  /** Running plans: handed out (whole) or adopted from a worker's INIT (perhaps only a footprint). */
  readonly running: Map<string, PlanFootprint>;
  /** Handout sequence number of the last plan given out; 0 = never. */
  lastServed: number;
  /** Every pending plan conflicts with a running one; out of the heap until something changes. */
  blocked: boolean;
  /** The list the last replace() got for this tenant (unchanged when the next one is this array). */
  lastSet: readonly Plan[] | undefined;
  /** replace() generation that last saw the tenant. */
  seen: number;
  heapIndex: number;
}

function fairer(a: TenantState, b: TenantState): boolean {
  if (a.running.size !== b.running.size) return a.running.size < b.running.size;
  if (a.lastServed !== b.lastServed) return a.lastServed < b.lastServed;
  return a.order < b.order;
}

const worstFirst = (a: Plan, b: Plan): number => compareForPriority(b, a);

export class PlanQueue {
  private readonly now: () => number;
  private readonly tenants = new Map<string, TenantState>();
  private readonly heap = new IndexedHeap<TenantState>(fairer);
  private readonly pendingIds = new Map<string, Pending>();
  private readonly runningIds = new Map<string, PlanFootprint>();
  private served = 0;
  private generation = 0;
  private arrivals = 0;

  constructor(opts: QueueOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Makes `plans` the pending set (the result of a planning pass). Running plans stay running and
   * are not queued again; plans that stay pending keep their enqueue time. A tenant whose list is
   * the very array of the previous pass is left as it is: only tenants that changed cost a pass
   * anything per plan.
   */
  replace(plans: PlanSet): ReplaceResult {
    // Plans already pending are only marked (generation), and only tenants that gained or lost
    // plans are re-sorted and re-filed in the heap.
    const gen = ++this.generation;
    const now = this.now();
    const counts = { added: 0, removed: 0, running: 0 };
    for (const [name, list] of plans) {
      const known = this.tenants.get(name);
      if (known !== undefined && known.lastSet === list) {
        known.seen = gen;
        continue;
      }
      if (known === undefined && list.length === 0) continue;
      const t = known ?? this.tenantState(name);
      t.seen = gen;
      t.lastSet = list;
      this.replaceTenant(t, list, gen, now, counts);
    }
    for (const t of [...this.tenants.values()]) {
      if (t.seen === gen) continue;
      t.lastSet = undefined;
      if (t.pending.length > 0) this.replaceTenant(t, [], gen, now, counts);
    }
    return counts;
  }

  /** One tenant's part of replace(). */
  private replaceTenant(
    t: TenantState,
    list: readonly Plan[],
    gen: number,
    now: number,
    counts: { added: number; removed: number; running: number },
  ): void {
    let matched = 0;
    let fresh: Plan[] | undefined;
    for (const p of list) {
      if (this.runningIds.has(p.id)) {
        counts.running++;
        continue;
      }
      const e = this.pendingIds.get(p.id);
      if (e !== undefined) {
        if (e.gen !== gen) {
          e.gen = gen;
          matched++;
        }
        continue;
      }
      this.pendingIds.set(p.id, { plan: p, at: now, gen, tenant: t });
      (fresh ??= []).push(p);
      counts.added++;
    }
    // New entries were counted in `fresh`, not in `matched`.
    const stale = t.pending.length - matched;
    if (stale === 0 && fresh === undefined) return;
    if (stale > 0) {
      t.pending = t.pending.filter((p) => {
        if (this.pendingIds.get(p.id)!.gen === gen) return true;
        this.pendingIds.delete(p.id);
        counts.removed++;
        return false;
      });
    }
    if (fresh !== undefined) {
      for (const p of fresh) t.pending.push(p);
      t.pending.sort(worstFirst);
    }
    this.changed(t);
  }

  /**
   * Queues one plan (a re-queue after an expired lease or a retryable failure). False when a plan
   * with its id is already pending or running.
   */
  push(plan: Plan, enqueuedAt: number = this.now()): boolean {
    if (this.pendingIds.has(plan.id) || this.runningIds.has(plan.id)) return false;
    const t = this.tenantState(plan.tenant);
    const list = t.pending;
    // Binary search for the insertion point in the worst-first order.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (worstFirst(list[mid]!, plan) <= 0) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, plan);
    this.pendingIds.set(plan.id, { plan, at: enqueuedAt, gen: this.generation, tenant: t });
    this.changed(t);
    return true;
  }

  /**
   * The next plan by the fairness policy, now counted as running; undefined when nothing pending
   * can run without conflicting with a running plan.
   */
  next(): Assignment | undefined {
    for (;;) {
      const t = this.heap.peek();
      if (t === undefined) return undefined;
      const i = this.firstRunnable(t);
      if (i < 0) {
        t.blocked = true;
        this.heap.remove(t);
        continue;
      }
      const plan = t.pending[i]!;
      if (i === t.pending.length - 1) t.pending.pop();
      else t.pending.splice(i, 1);
      const enqueuedAt = this.pendingIds.get(plan.id)?.at ?? this.now();
      this.pendingIds.delete(plan.id);
      this.runningIds.set(plan.id, plan);
      t.running.set(plan.id, plan);
      t.lastServed = ++this.served;
      this.changed(t);
      return { plan, enqueuedAt };
    }
  }

  /** The running plan that `plan` conflicts with, if any. */
  runningConflict(plan: PlanFootprint): PlanFootprint | undefined {
    const t = this.tenants.get(plan.tenant);
    if (t === undefined) return undefined;
    for (const r of t.running.values()) if (r.id !== plan.id && plansConflict(plan, r)) return r;
    return undefined;
  }

  /**
   * Records a plan as running without handing it out (a worker reported it in INIT). Removes a
   * pending plan with the same id. The caller checks `runningConflict` first.
   */
  adopt(plan: PlanFootprint): void {
    if (this.runningIds.has(plan.id)) return;
    const t = this.tenantState(plan.tenant);
    const entry = this.pendingIds.get(plan.id);
    if (entry !== undefined) {
      this.pendingIds.delete(plan.id);
      const i = t.pending.indexOf(entry.plan);
      if (i >= 0) t.pending.splice(i, 1);
    }
    this.runningIds.set(plan.id, plan);
    t.running.set(plan.id, plan);
    this.changed(t);
  }

  /** Takes a plan out of the running set (completed, failed, expired); undefined if not running. */
  release(planId: string): PlanFootprint | undefined {
    const plan = this.runningIds.get(planId);
    if (plan === undefined) return undefined;
    this.runningIds.delete(planId);
    const t = this.tenants.get(plan.tenant)!;
    t.running.delete(planId);
    this.changed(t);
    return plan;
  }

  /** Drops a pending plan (e.g. parked); false if it was not pending. */
  remove(planId: string): boolean {
    const entry = this.pendingIds.get(planId);
    if (entry === undefined) return false;
    this.pendingIds.delete(planId);
    const t = this.tenants.get(entry.plan.tenant)!;
    const i = t.pending.indexOf(entry.plan);
    if (i >= 0) t.pending.splice(i, 1);
    this.changed(t);
    return true;
  }

  /** Drops the pending plans of `tenant` that `stale` says are void; returns their ids. */
  removeWhere(tenant: string, stale: (p: Plan) => boolean): string[] {
    const t = this.tenants.get(tenant);
    if (t === undefined) return [];
    const gone: string[] = [];
    t.pending = t.pending.filter((p) => {
      if (!stale(p)) return true;
      gone.push(p.id);
      this.pendingIds.delete(p.id);
      return false;
    });
    if (gone.length > 0) this.changed(t);
    return gone;
  }

  /** Whether `tenant` has plans running. */
  hasRunning(tenant: string): boolean {
    return (this.tenants.get(tenant)?.running.size ?? 0) > 0;
  }

  /** The running plans of `tenant`. */
  runningOf(tenant: string): Iterable<PlanFootprint> {
    return this.tenants.get(tenant)?.running.values() ?? [];
  }

  isPending(planId: string): boolean {
    return this.pendingIds.has(planId);
  }

  isRunning(planId: string): boolean {
    return this.runningIds.has(planId);
  }

  runningPlan(planId: string): PlanFootprint | undefined {
    return this.runningIds.get(planId);
  }

  pendingPlan(planId: string): Plan | undefined {
    return this.pendingIds.get(planId)?.plan;
  }

  /** Every pending plan. */
  pendingPlans(): Plan[] {
    return [...this.pendingIds.values()].map((p) => p.plan);
  }

  /** Pending and running plans per tenant (tenants with neither are left out). */
  tenantCounts(): { tenant: string; pending: number; running: number }[] {
    const out: { tenant: string; pending: number; running: number }[] = [];
    for (const t of this.tenants.values()) {
      if (t.pending.length + t.running.size > 0) {
        out.push({ tenant: t.name, pending: t.pending.length, running: t.running.size });
      }
    }
    return out;
  }

  stats(): QueueStats {
    return { pending: this.pendingIds.size, running: this.runningIds.size, tenants: this.tenants.size };
  }

  private tenantState(name: string): TenantState {
    let t = this.tenants.get(name);
    if (t === undefined) {
      t = {
        name,
        order: ++this.arrivals,
        pending: [],
        running: new Map(),
        lastServed: 0,
        blocked: false,
        lastSet: undefined,
        seen: 0,
        heapIndex: -1,
      };
      this.tenants.set(name, t);
    }
    return t;
  }

  /** Index of the best pending plan that conflicts with no running plan of the tenant, or -1. */
  private firstRunnable(t: TenantState): number {
    for (let i = t.pending.length - 1; i >= 0; i--) {
      const p = t.pending[i]!;
      let ok = true;
      for (const r of t.running.values()) {
        if (plansConflict(p, r)) {
          ok = false;
          break;
        }
      }
      if (ok) return i;
    }
    return -1;
  }

  /** Re-files a tenant after its running or pending set changed. */
  private changed(t: TenantState): void {
    t.blocked = false;
    if (t.pending.length > 0) this.heap.update(t);
    else {
      this.heap.remove(t);
      if (t.running.size === 0) this.tenants.delete(t.name);
    }
  }
}
