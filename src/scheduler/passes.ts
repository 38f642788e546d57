/**
 * When the planner plans: a pass at least every replan interval, one shortly after completions
 * (coalesced, and spaced so planning never takes more than ~20% of the planner's time), one at the
 * start of every term. A pass replaces the queue's pending set, minus plans made stale by
 * completions it could not have seen.
 */
import type { Plan, PlanFootprint, TimeWindow } from '../plan/types.js';
import type { NoCompactReason } from '../tsdb/markers.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { LeadershipGate, Term } from './leadership-gate.js';
import type { LeaseTable } from './leases.js';
import type { PlanQueue, PlanSet } from './queue.js';

export interface PlanningContext {
  /** Tenants with plans running now (a sharded planner keeps holding them until they end). */
  readonly busy: (tenant: string) => boolean;
  /** The tenant's running plans (their sources may be marked before their output shows). */
  readonly running: (tenant: string) => Iterable<PlanFootprint>;
}

/** Where plans come from and where their outcomes go (the bucket sync and planner). */
export interface PlanSource {
  /**
   * One planning pass over the bucket: every plan that can run now, by tenant (a tenant that did
   * not change since the previous pass may get that pass's very array back). Must reflect every
   * `onComplete` that resolved before the call, and leave out plans of a group whose running
   * plan's sources it did not see (a sync between the worker's mark and its output showing
   * would plan around the gap).
   */
  nextPlans(ctx?: PlanningContext): Promise<PlanSet>;
  /**
   * A worker finished the plan: its outputs are uploaded and its sources marked for deletion.
   * Must be idempotent: after a leader change the same completion can arrive twice.
   */
  onComplete(plan: PlanFootprint, outputs: readonly string[]): Promise<void>;
  /**
   * The plan failed too often (or for good): mark `failingBlock` no-compact with its reason (the
   * worker's classification) and `details` (the error), if a block is to blame.
   */
  onParked(
    plan: PlanFootprint,
    failingBlock: string | undefined,
    noCompactReason: NoCompactReason | undefined,
    details: string,
  ): Promise<void>;
  /** Whether all sources are still in the bucket and not marked for deletion. */
  sourcesExist(plan: PlanFootprint): Promise<boolean>;
}

/**
 * A completed plan, kept until a planning pass that started after it settled: a pass that began
 * earlier may have seen its sources hidden (marked) but not its output yet, and planned around the
 * gap.
 */
export interface Consumed {
  readonly tenant: string;
  readonly groupKey: string;
  readonly minTime: number;
  readonly maxTime: number;
  readonly ulids: ReadonlySet<string>;
  readonly outputs: readonly string[];
  /** passesStarted when onComplete resolved; undefined while it runs. */
  settledAt: number | undefined;
}

/**
 * Whether `p` was planned without knowing that `c` completed: it reads one of c's sources (now
 * marked for deletion), or c's range lies in what p's choice looked at (its window: the whole
 * range bucket of a horizontal plan) in c's group and p lacks c's output. A sync that saw c's
 * sources marked but not its output yet makes that part of the bucket look empty: a plan of the
 * bucket's other blocks would then compact them without it and need one more merge later.
 */
export function plannedBefore(p: PlanFootprint & { readonly window?: TimeWindow }, c: Consumed): boolean {
  if (p.tenant !== c.tenant) return false;
  if (p.sources.some((b) => c.ulids.has(b.ulid))) return true;
  const minTime = Math.min(p.minTime, p.window?.minTime ?? p.minTime);
  const maxTime = Math.max(p.maxTime, p.window?.maxTime ?? p.maxTime);
  if (p.groupKey !== c.groupKey || minTime >= c.maxTime || c.minTime >= maxTime) return false;
  return !c.outputs.every((o) => p.sources.some((b) => b.ulid === o));
}

/** Completion-triggered passes wait at least this many times the last pass's duration. */
const PASS_GAP_FACTOR = 4;

export interface PassSchedulerOptions {
  readonly source: PlanSource;
  readonly gate: LeadershipGate;
  readonly leases: LeaseTable;
  /** The queue of the current term. */
  readonly queue: () => PlanQueue;
  readonly log: Logger;
  readonly now: () => number;
  readonly replanIntervalMs: number;
  readonly replanDelayMs: number;
  /** After every pass (the queue may have new plans; held NEXTs can be answered). */
  readonly afterPass?: () => void;
  readonly planned?: (e: { plans: number; added: number; removed: number; durationMs: number }) => void;
}

export class PassScheduler {
  private pass: Promise<void> | undefined;
  private passTerm: Term | undefined;
  private passAgain = false;
  private passesStarted = 0;
  private lastPassAt = -Infinity;
  private lastPassEnd = -Infinity;
  private lastPassMs = 0;
  private consumed: Consumed[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: PassSchedulerOptions) {}

  /** A new term: nothing completed in it yet, and a pass is due at once. */
  reset(): void {
    this.consumed = [];
    this.lastPassAt = -Infinity;
    this.cancelTimer();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer();
  }

  cancelTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A pass runs or is scheduled (after completions). */
  busy(): boolean {
    return this.pass !== undefined || this.timer !== undefined;
  }

  /** Whether the periodic pass is due. */
  due(now: number): boolean {
    return now - this.lastPassAt >= this.o.replanIntervalMs;
  }

  /**
   * A plan completed: pending plans it makes stale are dropped now, and every pass until it
   * settles filters them out. Returns the record to settle once the source recorded it.
   */
  completed(plan: PlanFootprint, outputs: readonly string[]): Consumed {
    const c: Consumed = {
      tenant: plan.tenant,
      groupKey: plan.groupKey,
      minTime: plan.minTime,
      maxTime: plan.maxTime,
      ulids: new Set(plan.sources.map((b) => b.ulid)),
      outputs: [...outputs],
      settledAt: undefined,
    };
    this.consumed.push(c);
    const voided = this.o.queue().removeWhere(plan.tenant, (p) => plannedBefore(p, c));
    if (voided.length > 0) this.o.log.debug('dropped plans that read completed sources', { plans: voided });
    return c;
  }

  /** The source recorded the completion: passes from the next one on reflect it; plan again soon. */
  settle(c: Consumed): void {
    c.settledAt = this.passesStarted;
    this.schedule();
  }

  /** Runs a planning pass now (or once more after the one in flight). */
  replan(): Promise<void> {
    const term = this.o.gate.current;
    if (term === undefined || this.stopped) return Promise.resolve();
    if (this.pass !== undefined) {
      // A pass of an earlier term is void; start this term's own once it is out of the way.
      if (this.passTerm !== term) return this.pass.then(() => this.replan());
      this.passAgain = true;
      return this.pass;
    }
    this.passTerm = term;
    this.pass = (async () => {
      try {
        do {
          this.passAgain = false;
          await this.runPass(term);
          this.o.afterPass?.();
        } while (this.passAgain && this.o.gate.current === term);
      } finally {
        this.pass = undefined;
        this.o.afterPass?.();
      }
    })();
    return this.pass;
  }

  /** A pass soon after a completion, coalescing completions that arrive meanwhile. */
  private schedule(): void {
    if (this.timer !== undefined || this.o.gate.current === undefined) return;
    const sinceLast = this.o.now() - this.lastPassEnd;
    const delay = Math.max(this.o.replanDelayMs, PASS_GAP_FACTOR * this.lastPassMs - sinceLast);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.replan();
    }, delay);
    this.timer.unref();
  }

  private async runPass(term: Term): Promise<void> {
    const k = ++this.passesStarted;
    const t0 = this.o.now();
    this.lastPassAt = t0;
    let plans: PlanSet;
    try {
      const queue = this.o.queue();
      plans = await this.o.source.nextPlans({
        busy: (tenant) => queue.hasRunning(tenant),
        running: (tenant) => queue.runningOf(tenant),
      });
    } catch (err) {
      this.o.log.error('planning pass failed', { err: errorMessage(err) });
      return;
    }
    if (this.o.gate.current !== term) return;
    // Completions settled before this pass began are reflected in it (PlanSource contract); one
    // that settled after it began may not be.
    this.consumed = this.consumed.filter((c) => c.settledAt === undefined || c.settledAt >= k);
    const fresh = this.withoutStale(plans);
    const r = this.o.queue().replace(fresh);
    this.lastPassEnd = this.o.now();
    const durationMs = this.lastPassEnd - t0;
    this.lastPassMs = durationMs;
    let count = 0;
    for (const list of fresh.values()) count += list.length;
    this.o.log.debug('planning pass', { plans: count, tenants: fresh.size, ...r, durationMs });
    this.o.planned?.({ plans: count, added: r.added, removed: r.removed, durationMs });
  }

  /**
   * The pass's plans minus parked ones and those planned before a completion they could not see.
   * A tenant's list is filtered (a new array) only when it lost a plan, so an unchanged tenant
   * keeps the array the queue already knows.
   */
  private withoutStale(plans: PlanSet): PlanSet {
    const leases = this.o.leases;
    const parked = leases.parkedCount > 0;
    if (this.consumed.length === 0 && !parked) return plans;
    const byTenant = new Map<string, Consumed[]>();
    for (const c of this.consumed) {
      const list = byTenant.get(c.tenant);
      if (list === undefined) byTenant.set(c.tenant, [c]);
      else list.push(c);
    }
    const keep = (p: Plan): boolean => {
      if (parked && leases.isParked(p.id)) return false;
      const done = byTenant.get(p.tenant);
      return done === undefined || !done.some((c) => plannedBefore(p, c));
    };
    let out: Map<string, readonly Plan[]> | undefined;
    for (const [tenant, list] of plans) {
      if (!parked && !byTenant.has(tenant)) continue;
      if (list.every(keep)) continue;
      (out ??= new Map(plans)).set(tenant, list.filter(keep));
    }
    return out ?? plans;
  }
}
