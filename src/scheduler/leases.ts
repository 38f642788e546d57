/**
 * Which plan runs on which worker stream, for how long, and how often each plan failed. Pure: the
 * clock is injected and nothing here does I/O; the server acts on what these methods return.
 *
 * A lease lives while its worker's stream is open and reports PROGRESS (the heartbeat) within
 * `timeoutMs`. Expired leases and leases of closed streams go back to the queue through
 * `requeueLeases`, which first asks the caller whether the plan's sources still exist.
 *
 * Every lease carries the epoch of the leader that handed its plan out. A new leader adopts plans
 * that workers report in INIT with their old epoch, so reports about them are recognised as
 * older-epoch work instead of being refused.
 */
import type { Plan, PlanFootprint } from '../plan/types.js';
import type { NoCompactReason } from '../tsdb/markers.js';

/**
 * A leased plan: the whole plan when this planner handed it out or had it queued, only its
 * footprint when a worker reported it in INIT and this planner never planned it. Only whole plans
 * can be handed out again.
 */
export type LeasedPlan = Plan | PlanFootprint;

export function isWholePlan(p: LeasedPlan): p is Plan {
  return 'kind' in p;
}

export interface LeaseOptions {
  readonly now: () => number;
  /** A lease without PROGRESS for this long expires. */
  readonly timeoutMs: number;
  /** Failures (retryable ones; a non-retryable one parks at once) before a plan is parked. */
  readonly maxFailures: number;
}

export interface LeaseProgress {
  readonly phase: string;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface Lease {
  readonly plan: LeasedPlan;
  readonly streamId: string;
  readonly workerId: string;
  /** Epoch of the leader that handed the plan out. */
  readonly epoch: number;
  /** Reported by the worker in INIT rather than handed out by this planner. */
  readonly adopted: boolean;
  readonly grantedAt: number;
  refreshedAt: number;
  progress: LeaseProgress | undefined;
}

/** How a reported epoch relates to the planner's current one. */
export type EpochRelation = 'current' | 'older' | 'newer';

export interface FailureReport {
  readonly reason: string;
  readonly retryable: boolean;
  /** ULID of the source block that caused the failure, if the worker knows it. */
  readonly failingBlock: string | undefined;
  /** The no-compact reason for `failingBlock` (default `critical`). */
  readonly noCompactReason?: NoCompactReason | undefined;
}

export type FailureOutcome =
  | { readonly action: 'retry'; readonly failures: number }
  | {
      readonly action: 'park';
      readonly failures: number;
      /** The block to mark no-compact: the last one any failure named, with its reason. */
      readonly failingBlock: string | undefined;
      readonly noCompactReason: NoCompactReason | undefined;
      readonly reason: string;
      /** The last failure's own reason (the error), without the summary around it. */
      readonly lastReason: string;
    };

export interface ParkedPlan {
  readonly plan: LeasedPlan;
  readonly failures: number;
  readonly failingBlock: string | undefined;
  readonly noCompactReason: NoCompactReason | undefined;
  readonly reason: string;
  readonly parkedAt: number;
}

interface FailureRecord {
  count: number;
  failingBlock: string | undefined;
  noCompactReason: NoCompactReason | undefined;
}

export class LeaseTable {
  private readonly leases = new Map<string, Lease>();
  private readonly streams = new Map<string, Set<string>>();
  private readonly failures = new Map<string, FailureRecord>();
  private readonly parkedPlans = new Map<string, ParkedPlan>();
  private currentEpoch = 0;

  constructor(private readonly opts: LeaseOptions) {
    if (!(opts.timeoutMs > 0)) throw new RangeError(`lease timeout must be > 0, got ${opts.timeoutMs}`);
    if (!(opts.maxFailures >= 1)) throw new RangeError(`maxFailures must be >= 1, got ${opts.maxFailures}`);
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  setEpoch(epoch: number): void {
    this.currentEpoch = epoch;
  }

  relation(epoch: number): EpochRelation {
    return epoch === this.currentEpoch ? 'current' : epoch < this.currentEpoch ? 'older' : 'newer';
  }

  /** A plan handed out now, stamped with the current epoch. */
  grant(plan: Plan, streamId: string, workerId: string): Lease {
    return this.add(plan, streamId, workerId, this.currentEpoch, false);
  }

  /** A plan a worker reported as running in INIT, with the epoch it came with. */
  adopt(plan: LeasedPlan, streamId: string, workerId: string, epoch: number): Lease {
    return this.add(plan, streamId, workerId, epoch, true);
  }

  get(planId: string): Lease | undefined {
    return this.leases.get(planId);
  }

  /** The lease of `planId` if `streamId` holds it. */
  heldBy(streamId: string, planId: string): Lease | undefined {
    const l = this.leases.get(planId);
    return l !== undefined && l.streamId === streamId ? l : undefined;
  }

  countFor(streamId: string): number {
    return this.streams.get(streamId)?.size ?? 0;
  }

  forStream(streamId: string): Lease[] {
    const ids = this.streams.get(streamId);
    return ids === undefined ? [] : [...ids].map((id) => this.leases.get(id)!);
  }

  all(): Lease[] {
    return [...this.leases.values()];
  }

  get size(): number {
    return this.leases.size;
  }

  /** Moves a lease to another stream (its worker reconnected); refreshes it. */
  transfer(planId: string, streamId: string): Lease | undefined {
    const l = this.remove(planId);
    if (l === undefined) return undefined;
    const moved = this.add(l.plan, streamId, l.workerId, l.epoch, l.adopted);
    moved.progress = l.progress;
    return moved;
  }

  refresh(lease: Lease, progress?: LeaseProgress): void {
    lease.refreshedAt = this.opts.now();
    if (progress !== undefined) lease.progress = progress;
  }

  /** Ends a lease after COMPLETE: the plan's failure history is forgotten. */
  complete(planId: string): Lease | undefined {
    const l = this.remove(planId);
    if (l !== undefined) this.failures.delete(planId);
    return l;
  }

  /** Ends a lease without judging the plan (abandoned, cancelled): no failure is counted. */
  release(planId: string): Lease | undefined {
    return this.remove(planId);
  }

  /**
   * Ends a lease after FAILED and counts the failure. A non-retryable failure or the
   * `maxFailures`-th one parks the plan.
   */
  fail(planId: string, report: FailureReport): FailureOutcome {
    const lease = this.remove(planId);
    const rec = this.failures.get(planId) ?? {
      count: 0,
      failingBlock: undefined,
      noCompactReason: undefined,
    };
    rec.count++;
    if (report.failingBlock !== undefined) {
      rec.failingBlock = report.failingBlock;
      rec.noCompactReason = report.noCompactReason;
    }
    if (report.retryable && rec.count < this.opts.maxFailures) {
      this.failures.set(planId, rec);
      return { action: 'retry', failures: rec.count };
    }
    this.failures.delete(planId);
    const reason = report.retryable
      ? `failed ${rec.count} times, last: ${report.reason}`
      : `non-retryable failure: ${report.reason}`;
    if (lease !== undefined) {
      this.parkedPlans.set(planId, {
        plan: lease.plan,
        failures: rec.count,
        failingBlock: rec.failingBlock,
        noCompactReason: rec.noCompactReason,
        reason,
        parkedAt: this.opts.now(),
      });
    }
    return {
      action: 'park',
      failures: rec.count,
      failingBlock: rec.failingBlock,
      noCompactReason: rec.noCompactReason,
      reason,
      lastReason: report.reason,
    };
  }

  failureCount(planId: string): number {
    return this.failures.get(planId)?.count ?? 0;
  }

  isParked(planId: string): boolean {
    return this.parkedPlans.has(planId);
  }

  get parkedCount(): number {
    return this.parkedPlans.size;
  }

  parked(): ParkedPlan[] {
    return [...this.parkedPlans.values()];
  }

  /** Lets a parked plan be queued again (e.g. an operator removed the no-compact mark). */
  unpark(planId: string): boolean {
    return this.parkedPlans.delete(planId);
  }

  /** Removes and returns the leases not refreshed within the timeout. */
  expire(): Lease[] {
    const deadline = this.opts.now() - this.opts.timeoutMs;
    const out: Lease[] = [];
    for (const l of this.leases.values()) if (l.refreshedAt < deadline) out.push(l);
    for (const l of out) this.remove(l.plan.id);
    return out;
  }

  /** Removes and returns the leases of a closed stream. */
  dropStream(streamId: string): Lease[] {
    const out = this.forStream(streamId);
    for (const l of out) this.remove(l.plan.id);
    this.streams.delete(streamId);
    return out;
  }

  /** Forgets every lease (leadership lost). Failure counts and parked plans survive. */
  clear(): Lease[] {
    const out = this.all();
    this.leases.clear();
    this.streams.clear();
    return out;
  }

  private add(plan: LeasedPlan, streamId: string, workerId: string, epoch: number, adopted: boolean): Lease {
    if (this.leases.has(plan.id)) throw new Error(`plan ${plan.id} is already leased`);
    const now = this.opts.now();
    const lease: Lease = {
      plan,
      streamId,
      workerId,
      epoch,
      adopted,
      grantedAt: now,
      refreshedAt: now,
      progress: undefined,
    };
    this.leases.set(plan.id, lease);
    let ids = this.streams.get(streamId);
    if (ids === undefined) this.streams.set(streamId, (ids = new Set()));
    ids.add(plan.id);
    return lease;
  }

  private remove(planId: string): Lease | undefined {
    const l = this.leases.get(planId);
    if (l === undefined) return undefined;
    this.leases.delete(planId);
    const ids = this.streams.get(l.streamId);
    ids?.delete(planId);
    if (ids !== undefined && ids.size === 0) this.streams.delete(l.streamId);
    return l;
  }
}

export interface RequeueHooks {
  /** Whether every source block of the plan is still in the bucket (and not marked for deletion). */
  readonly sourcesExist: (plan: Plan) => Promise<boolean>;
  /** Puts the plan back in the queue. */
  readonly requeue: (plan: Plan) => void;
  /** Called instead of `requeue` when the plan cannot go back (see `requeueLeases`). */
  readonly drop?: (plan: LeasedPlan, why: string) => void;
}

export interface RequeueResult {
  readonly requeued: Plan[];
  readonly dropped: LeasedPlan[];
}

/**
 * Sends the plans of ended leases back to the queue, each only after its sources were confirmed to
 * still exist: a worker may have uploaded the output and marked the sources before it vanished.
 * A failed check drops the plan, and so does a plan known only by its footprint (a worker
 * reported it; this planner cannot hand it out); the next planning pass finds either again if it
 * is still valid.
 */
export async function requeueLeases(leases: readonly Lease[], hooks: RequeueHooks): Promise<RequeueResult> {
  const requeued: Plan[] = [];
  const dropped: LeasedPlan[] = [];
  await Promise.all(
    leases.map(async (l) => {
      const plan = l.plan;
      let why: string | undefined;
      if (!isWholePlan(plan)) why = 'reported by a worker, never planned here';
      else {
        try {
          if (!(await hooks.sourcesExist(plan))) why = 'sources no longer exist';
        } catch (err) {
          why = `checking sources failed: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      if (why === undefined && isWholePlan(plan)) {
        hooks.requeue(plan);
        requeued.push(plan);
      } else {
        hooks.drop?.(plan, why ?? '');
        dropped.push(plan);
      }
    }),
  );
  return { requeued, dropped };
}
