/**
 * The planner's side of one worker stream, message by message: INIT first and exactly once;
 * NEXT → PLAN or NO_PLAN; PROGRESS, COMPLETE and FAILED only for plans the stream holds. Anything
 * else throws the ConnectError that ends that stream (InvalidArgument for malformed messages,
 * FailedPrecondition for out-of-protocol ones) and leaves every other stream alone. Reports about
 * plans the stream holds are accepted during the grace period: they cannot cause conflicts.
 */
import type { Adopt, Complete, Failed, Init, Next, Progress } from '../../gen/strata/v1/planner_pb.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import {
  planToWire,
  validateComplete,
  validateFailed,
  validateInit,
  validateProgress,
  validateRunning,
  type ReportedPlan,
} from './codec.js';
import { HeldNexts } from './held-nexts.js';
import type { Term } from './leadership-gate.js';
import type { FailureOutcome, Lease, LeaseTable } from './leases.js';
import type { PassScheduler, PlanSource } from './passes.js';
import type { Assignment, PlanQueue } from './queue.js';
import { failedPrecondition, type Session } from './session.js';
import type { RequeueReason, SchedulerEvents } from './service.js';

const MAX_REPORTED_REMEMBERED = 100_000;

export interface ProtocolOptions {
  readonly log: Logger;
  readonly now: () => number;
  readonly leases: LeaseTable;
  /** The queue of the current term. */
  readonly queue: () => PlanQueue;
  readonly passes: PassScheduler;
  readonly source: PlanSource;
  readonly events: SchedulerEvents;
  readonly maxCapacity: number;
  readonly noPlanRetryMs: number;
  /** Longest a NEXT is held (long poll), whatever its max_wait_ms says. */
  readonly maxHoldMs: number;
  /**
   * Whether a plan may become runnable without a new NEXT: plans running or pending, a pass in
   * flight or scheduled, a re-queue on its way. Held NEXTs are answered NO_PLAN once it is false.
   */
  readonly workMayCome: () => boolean;
  readonly retryDelayMs: number;
  /** Sends ended leases back to the queue once their sources are confirmed (see requeueLeases). */
  readonly requeue: (leases: readonly Lease[], reason: RequeueReason) => Promise<void>;
  /** The same, after `ms` (a retryable failure waits), unless the term ends first. */
  readonly requeueLater: (lease: Lease, ms: number) => void;
  /** This planner's ring instance ID when sharded ('' otherwise): stamped on every plan. */
  readonly plannerId: string;
  /**
   * Sharded: whether a plan another planner handed out (which left the ring) is this planner's to
   * adopt, i.e. its tenant is owned here now. Unsharded planners adopt every reported plan.
   */
  readonly adoptsTenant?: (tenant: string) => boolean;
}

export class StreamProtocol {
  /**
   * Plans whose COMPLETE or FAILED this term processed. A worker whose stream broke before it saw
   * proof of that sends the result again (INIT + report); it gets CANCEL instead of a second
   * completion.
   */
  private readonly reported = new Map<string, 'completed' | 'failed'>();
  /** NEXTs waiting for a plan (long poll). */
  private readonly held = new HeldNexts();

  constructor(private readonly o: ProtocolOptions) {}

  /** A new term (or the end of one): results of the last one are not this term's to refuse. */
  reset(): void {
    this.reported.clear();
    this.held.clear();
  }

  /** NEXTs held now (long poll). */
  get heldNexts(): number {
    return this.held.size;
  }

  onInit(s: Session, term: Term, m: Init): void {
    if (s.initialized) throw failedPrecondition('duplicate INIT');
    const init = validateInit(m, this.o.maxCapacity);
    this.checkEpochs(init.running, term);
    s.workerId = init.workerId;
    s.capacity = init.capacity;
    s.initialized = true;
    const adopted = this.adopt(s, init.running);
    this.o.log.info('worker connected', {
      stream: s.id,
      worker: init.workerId,
      capacity: init.capacity,
      adopted,
    });
  }

  /** Sharded: plans of a planner that left the ring, for the tenants this one owns now. */
  onAdopt(s: Session, term: Term, m: Adopt): void {
    const running = validateRunning(m.running);
    this.checkEpochs(running, term);
    const adopted = this.adopt(s, running);
    this.o.log.info('adopted plans of a planner that left', {
      worker: s.workerId,
      adopted,
      reported: running.length,
    });
  }

  /** Epochs are only comparable between plans of one planner: none of ours may be from the future. */
  private checkEpochs(running: readonly ReportedPlan[], term: Term): void {
    for (const r of running) {
      if (r.plannerId === this.o.plannerId && r.epoch > term.epoch) {
        throw failedPrecondition(
          `plan ${r.id} came with epoch ${r.epoch}, newer than this planner's ${term.epoch}`,
        );
      }
    }
  }

  /** Takes over the running plans a worker reports, or CANCELs them; returns how many it took. */
  private adopt(s: Session, running: readonly ReportedPlan[]): number {
    const leases = this.o.leases;
    const queue = this.o.queue();
    const workerId = s.workerId!;
    let adopted = 0;
    for (const r of running) {
      const held = leases.get(r.id);
      if (held !== undefined && held.workerId === workerId) {
        // The same worker on a new stream before its old one was noticed gone: move the lease.
        leases.transfer(r.id, s.id);
        adopted++;
        continue;
      }
      if (held !== undefined) {
        s.cancel(r.id, `running on worker ${held.workerId}`);
        continue;
      }
      const done = this.reported.get(r.id);
      if (done !== undefined) {
        s.cancel(r.id, `already ${done}`);
        continue;
      }
      if (r.plannerId !== this.o.plannerId && this.o.adoptsTenant?.(r.tenant) === false) {
        s.cancel(r.id, `tenant ${r.tenant} is not owned by planner ${this.o.plannerId}`);
        continue;
      }
      const plan = queue.pendingPlan(r.id) ?? r;
      const conflict = queue.runningConflict(plan);
      if (conflict !== undefined) {
        s.cancel(r.id, `conflicts with running plan ${conflict.id}`);
        continue;
      }
      queue.adopt(plan);
      leases.adopt(plan, s.id, workerId, r.epoch);
      adopted++;
    }
    return adopted;
  }

  onNext(s: Session, term: Term, m: Next): void {
    const held = this.o.leases.countFor(s.id);
    if (held + s.heldNexts >= s.capacity) {
      throw failedPrecondition(
        s.heldNexts === 0
          ? `NEXT while holding ${held} plans with capacity ${s.capacity}`
          : `NEXT while holding ${held} plans and ${s.heldNexts} waiting NEXTs with capacity ${s.capacity}`,
      );
    }
    const now = this.o.now();
    if (now < term.graceUntil) {
      s.send({ case: 'noPlan', value: { retryAfterMs: Math.ceil(term.graceUntil - now) } });
      return;
    }
    // Older held NEXTs come first.
    if (this.held.size > 0) this.dispatch(term);
    const a = this.held.size === 0 ? this.o.queue().next() : undefined;
    if (a !== undefined) {
      this.handOut(s, term, a, now);
      return;
    }
    const wait = Math.min(m.maxWaitMs, this.o.maxHoldMs);
    if (wait > 0 && this.o.workMayCome()) {
      this.held.add(s, now + wait);
      return;
    }
    s.send({ case: 'noPlan', value: { retryAfterMs: this.o.noPlanRetryMs } });
  }

  /**
   * Something may have made a plan runnable (a pass, a re-queue, a plan ended): held NEXTs get
   * plans, oldest first. With nothing left that could bring one, the rest get NO_PLAN.
   */
  dispatch(term: Term | undefined): void {
    if (this.held.size === 0 || term === undefined) return;
    const now = this.o.now();
    if (now < term.graceUntil) return;
    const queue = this.o.queue();
    for (let s = this.held.peek(); s !== undefined; s = this.held.peek()) {
      const a = queue.next();
      if (a === undefined) break;
      this.held.shift();
      this.handOut(s, term, a, now);
    }
    if (this.held.size > 0 && !this.o.workMayCome()) {
      for (const s of this.held.takeAll()) {
        s.send({ case: 'noPlan', value: { retryAfterMs: this.o.noPlanRetryMs } });
      }
    }
  }

  /** Held NEXTs whose wait ran out: NO_PLAN, ask again at once. */
  expireHeld(now: number): void {
    for (const s of this.held.expired(now)) s.send({ case: 'noPlan', value: { retryAfterMs: 0 } });
  }

  private handOut(s: Session, term: Term, a: Assignment, now: number): void {
    const workerId = s.workerId!;
    this.o.leases.grant(a.plan, s.id, workerId);
    this.reported.delete(a.plan.id);
    const wire = planToWire(a.plan, term.epoch, this.o.plannerId);
    // This planner reads a NEXT inside a COMPLETE (see Complete.next).
    wire.nextInComplete = true;
    s.sendPlan(wire);
    this.o.events.assigned?.({ plan: a.plan, workerId, epoch: term.epoch, waitMs: now - a.enqueuedAt });
  }

  onProgress(s: Session, wire: Progress): void {
    const m = validateProgress(wire);
    const lease = this.heldLease(s, m.planId, 'PROGRESS', m.epoch);
    if (lease === undefined) return;
    this.o.leases.refresh(lease, { phase: m.phase, bytesDone: m.bytesDone, bytesTotal: m.bytesTotal });
  }

  async onComplete(s: Session, term: Term, wire: Complete): Promise<void> {
    const m = validateComplete(wire);
    const lease = this.heldLease(s, m.planId, 'COMPLETE', m.epoch);
    if (lease === undefined) return;
    this.o.leases.complete(m.planId);
    this.o.queue().release(m.planId);
    this.remember(m.planId, 'completed');
    const olderEpoch = lease.epoch < term.epoch;
    // Pending plans that read the consumed blocks (marked for deletion) or cover the plan's range
    // without its output are void; the pass this completion triggers plans them again.
    const consumed = this.o.passes.completed(lease.plan, m.outputs);
    this.o.log.info('plan completed', {
      plan: m.planId,
      worker: s.workerId,
      outputs: m.outputs,
      ...(olderEpoch ? { epoch: lease.epoch } : {}),
    });
    this.o.events.completed?.({ plan: lease.plan, workerId: lease.workerId, outputs: m.outputs, olderEpoch });
    try {
      await this.o.source.onComplete(lease.plan, m.outputs);
    } catch (err) {
      this.o.log.error('recording a completed plan failed', { plan: m.planId, err: errorMessage(err) });
    }
    this.o.passes.settle(consumed);
  }

  async onFailed(s: Session, wire: Failed): Promise<void> {
    const m = validateFailed(wire, this.o.leases.heldBy(s.id, wire.planId)?.plan.sources);
    const lease = this.heldLease(s, m.planId, 'FAILED', m.epoch);
    if (lease === undefined) return;
    const plan = lease.plan;
    if (m.abandoned) {
      this.o.leases.release(m.planId);
      this.o.queue().release(m.planId);
      this.o.log.info('plan abandoned by its worker; re-queueing', { plan: m.planId, worker: s.workerId });
      await this.o.requeue([lease], 'abandoned');
      return;
    }
    const outcome: FailureOutcome = this.o.leases.fail(m.planId, {
      reason: m.reason,
      retryable: m.retryable,
      failingBlock: m.failingBlock,
      noCompactReason: m.noCompactReason,
    });
    this.o.queue().release(m.planId);
    this.remember(m.planId, 'failed');
    this.o.events.failed?.({ plan, workerId: lease.workerId, outcome, code: m.errorCode, reason: m.reason });
    if (outcome.action === 'retry') {
      const wait = this.o.retryDelayMs * 2 ** (outcome.failures - 1);
      this.o.log.warn('plan failed; will retry', {
        plan: m.planId,
        worker: s.workerId,
        failures: outcome.failures,
        code: m.errorCode,
        reason: m.reason,
        retryInMs: wait,
      });
      if (wait <= 0) await this.o.requeue([lease], 'failed');
      else this.o.requeueLater(lease, wait);
      return;
    }
    this.o.log.error('plan parked', {
      plan: m.planId,
      worker: s.workerId,
      failures: outcome.failures,
      failingBlock: outcome.failingBlock,
      code: m.errorCode,
      reason: outcome.reason,
    });
    try {
      await this.o.source.onParked(plan, outcome.failingBlock, outcome.noCompactReason, outcome.lastReason);
    } catch (err) {
      this.o.log.error('recording a parked plan failed', { plan: m.planId, err: errorMessage(err) });
    }
  }

  /** The lease of a plan this stream reports on; undefined for a plan cancelled here (ignore). */
  private heldLease(s: Session, planId: string, what: string, epoch: number): Lease | undefined {
    const lease = this.o.leases.heldBy(s.id, planId);
    if (lease === undefined) {
      if (s.cancelled.has(planId)) {
        this.o.log.debug(`ignoring ${what} of a cancelled plan`, { worker: s.workerId, plan: planId });
        return undefined;
      }
      throw failedPrecondition(`${what} for plan ${planId}, which this worker does not hold`);
    }
    if (epoch !== lease.epoch) {
      throw failedPrecondition(
        `${what} for plan ${planId} says epoch ${epoch}, but it was handed out with epoch ${lease.epoch}`,
      );
    }
    return lease;
  }

  private remember(planId: string, what: 'completed' | 'failed'): void {
    this.reported.delete(planId);
    this.reported.set(planId, what);
    if (this.reported.size > MAX_REPORTED_REMEMBERED)
      this.reported.delete(this.reported.keys().next().value!);
  }
}
