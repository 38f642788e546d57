/**
 * The planner side of strata.v1.Planner/Connect, independent of the transport (server.ts binds it
 * to HTTP/2 gRPC): the worker streams, the queue and the leases of the current term, and the
 * timers. The pieces live next door: leadership terms (leadership-gate.ts), when to plan
 * (passes.ts), what each message does (protocol.ts).
 *
 * Losing leadership answers NOT_LEADER on every stream and closes it; a new epoch ends every
 * stream with UNAVAILABLE so workers reconnect and report (INIT) what they still run.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import type { WorkerMessage } from '../../gen/strata/v1/planner_pb.js';
import { nopLogger, type Logger } from '../util/logger.js';
import { LeadershipGate, type LeadershipView, type Term } from './leadership-gate.js';
import type { RequeueReason, SchedulerEvents } from './events.js';
import { LeaseTable, requeueLeases, type Lease } from './leases.js';
import { PassScheduler, type PlanSource } from './passes.js';
import { StreamProtocol } from './protocol.js';
import { PlanQueue } from './queue.js';
import { failedPrecondition, Session } from './session.js';
import type { CompactionSnapshot } from '../compactor/activity.js';
import {
  runningLeaseViews,
  schedulerSnapshot,
  workerViews,
  type RunningLeaseView,
  type WorkerView,
} from './snapshot.js';

export type { RequeueReason, SchedulerEvents } from './events.js';

export interface PlannerServiceOptions {
  readonly leadership: LeadershipView;
  readonly source: PlanSource;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** A plan without PROGRESS from its worker for this long goes back to the queue. Default 60 s. */
  readonly leaseTimeoutMs?: number;
  /** Retryable failures before a plan is parked. Default 3. */
  readonly maxFailures?: number;
  /**
   * A plan that failed (retryably) goes back to the queue after this long, doubled for every
   * further failure, so a short storage outage does not use up its attempts. Default 10 s.
   */
  readonly retryDelayMs?: number;
  /** After becoming leader, hand out nothing for this long. Default 15 s. */
  readonly graceMs?: number;
  /** Full planning pass at least this often. Default 60 s. */
  readonly replanIntervalMs?: number;
  /**
   * A pass this long after a completion (completions coalesce), and at least 4× the last pass's
   * duration after it ended, so planning a big bucket never takes more than ~20% of the planner's
   * time. Default 1 s.
   */
  readonly replanDelayMs?: number;
  /** retry_after_ms of NO_PLAN when the queue has nothing runnable. Default 5 s. */
  readonly noPlanRetryMs?: number;
  /** Longest a NEXT with max_wait_ms is held (long poll) while no plan can run. Default 60 s. */
  readonly maxNextWaitMs?: number;
  /** Lease expiry and leadership check period. Default 1 s. */
  readonly tickMs?: number;
  /** Largest capacity a worker may announce. Default 1024. */
  readonly maxCapacity?: number;
  /** A stream that sends no INIT for this long is closed (DEADLINE_EXCEEDED). Default 30 s. */
  readonly initTimeoutMs?: number;
  readonly events?: SchedulerEvents;
  /** Sharded planners: this planner's ring instance ID, stamped on its plans. */
  readonly plannerId?: string;
  /** Sharded planners: whether a tenant is owned here now (adopting another planner's plans). */
  readonly adoptsTenant?: (tenant: string) => boolean;
}

export interface SchedulerStats {
  readonly leader: boolean;
  readonly epoch: number | undefined;
  readonly inGrace: boolean;
  readonly pending: number;
  readonly running: number;
  readonly parked: number;
  readonly streams: number;
  readonly tenants: number;
}

export class PlannerService {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly source: PlanSource;
  private readonly events: SchedulerEvents;
  private readonly tickMs: number;
  private readonly initTimeoutMs: number;
  private readonly leases: LeaseTable;
  private queue: PlanQueue;
  private readonly gate: LeadershipGate;
  private readonly passes: PassScheduler;
  private readonly protocol: StreamProtocol;
  private readonly sessions = new Map<string, Session>();
  private sessionSeq = 0;
  private stopped = false;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Re-queues waiting for their sources to be confirmed. */
  private requeuing = 0;
  private tickTimer: NodeJS.Timeout | undefined;

  constructor(opts: PlannerServiceOptions) {
    this.log = opts.logger ?? nopLogger;
    this.now = opts.now ?? Date.now;
    this.source = opts.source;
    this.events = opts.events ?? {};
    this.tickMs = opts.tickMs ?? 1000;
    this.initTimeoutMs = opts.initTimeoutMs ?? 30_000;
    this.leases = new LeaseTable({
      now: this.now,
      timeoutMs: opts.leaseTimeoutMs ?? 60_000,
      maxFailures: opts.maxFailures ?? 3,
    });
    this.queue = new PlanQueue({ now: this.now });
    this.gate = new LeadershipGate(opts.leadership, opts.graceMs ?? 15_000, this.now, {
      begin: (term) => this.beginTerm(term),
      end: (old, newEpoch) => this.endTerm(old, newEpoch),
    });
    this.passes = new PassScheduler({
      source: this.source,
      gate: this.gate,
      leases: this.leases,
      queue: () => this.queue,
      log: this.log,
      now: this.now,
      replanIntervalMs: opts.replanIntervalMs ?? 60_000,
      replanDelayMs: opts.replanDelayMs ?? 1000,
      afterPass: () => this.protocol.dispatch(this.gate.current),
      ...(this.events.planned ? { planned: this.events.planned } : {}),
    });
    this.protocol = new StreamProtocol({
      log: this.log,
      now: this.now,
      leases: this.leases,
      queue: () => this.queue,
      passes: this.passes,
      source: this.source,
      events: this.events,
      maxCapacity: opts.maxCapacity ?? 1024,
      noPlanRetryMs: opts.noPlanRetryMs ?? 5000,
      maxHoldMs: opts.maxNextWaitMs ?? 60_000,
      workMayCome: () => this.workMayCome(),
      retryDelayMs: opts.retryDelayMs ?? 10_000,
      requeue: (leases, reason) => this.requeue(leases, reason),
      requeueLater: (lease, ms) => this.requeueLater(lease, ms),
      plannerId: opts.plannerId ?? '',
      ...(opts.adoptsTenant ? { adoptsTenant: opts.adoptsTenant } : {}),
    });
  }

  /** Starts the periodic tick (lease expiry, leadership, periodic planning). */
  start(): void {
    if (this.tickTimer !== undefined) return;
    this.tickTimer = setInterval(() => this.tick(), this.tickMs);
    this.tickTimer.unref();
    this.gate.sync();
  }

  /** Stops the timers and ends every stream (OK status, no message). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    this.passes.stop();
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    for (const s of this.sessions.values()) s.out.close();
  }

  stats(): SchedulerStats {
    const q = this.queue.stats();
    const t = this.gate.current;
    return {
      leader: t !== undefined,
      epoch: t?.epoch,
      inGrace: t !== undefined && this.now() < t.graceUntil,
      pending: q.pending,
      running: q.running,
      parked: this.leases.parkedCount,
      streams: this.sessions.size,
      tenants: q.tenants,
    };
  }

  /** Pending and running plans per tenant. */
  tenantCounts(): { tenant: string; pending: number; running: number }[] {
    return this.queue.tenantCounts();
  }

  /** The plans running now, with their worker, epoch and last reported phase. */
  runningPlans(): RunningLeaseView[] {
    return runningLeaseViews(this.leases);
  }

  /** Connected, initialized worker streams, with their plans running and last message time. */
  workers(): WorkerView[] {
    return workerViews(this.sessions.values(), this.leases);
  }

  /** Running, queued and parked plans (the web UI's compaction page). */
  snapshot(): CompactionSnapshot {
    return schedulerSnapshot(this.queue, this.leases);
  }

  /** A new stream. A follower answers NOT_LEADER on it right away and closes it. */
  open(): Session {
    const term = this.stopped ? undefined : this.gate.sync();
    const s = new Session(`s${++this.sessionSeq}`, term?.id ?? 0, this.now());
    if (this.stopped) {
      s.out.fail(new ConnectError('planner is shutting down', Code.Unavailable));
      return s;
    }
    if (term === undefined) {
      s.notLeader(this.gate.leaderAddress());
      return s;
    }
    this.sessions.set(s.id, s);
    return s;
  }

  /** The worker closed its side: nothing more will come, so end ours too. */
  endOfInput(s: Session): void {
    s.out.close();
  }

  /**
   * The stream is gone (any reason): its plans go back to the queue once their sources are
   * confirmed to still exist.
   */
  close(s: Session): void {
    if (s.closed) return;
    s.closed = true;
    s.out.close();
    if (this.sessions.get(s.id) !== s) return;
    this.sessions.delete(s.id);
    const dropped = this.leases.dropStream(s.id);
    for (const l of dropped) this.queue.release(l.plan.id);
    if (dropped.length > 0) {
      this.log.info('worker stream closed with plans running; re-queueing', {
        worker: s.workerId,
        plans: dropped.map((l) => l.plan.id),
      });
      void this.requeue(dropped, 'stream-closed');
    }
  }

  /** Logs a rejection and turns any error into the ConnectError that ends the stream. */
  reject(s: Session, err: unknown): ConnectError {
    const ce = ConnectError.from(err, Code.Internal);
    this.log.warn('rejected worker stream', {
      stream: s.id,
      worker: s.workerId,
      code: Code[ce.code],
      err: ce.rawMessage,
    });
    this.events.rejected?.({ workerId: s.workerId, code: ce.code, message: ce.rawMessage });
    return ce;
  }

  /** Processes one message of a stream; throws a ConnectError to end the stream. */
  async handle(s: Session, m: WorkerMessage): Promise<void> {
    if (s.closed || s.out.isClosed) return;
    s.lastSeenAt = this.now();
    const term = this.gate.sync();
    // Not leading, or a stream of an earlier term: the gate already answered and closed it.
    if (term === undefined || term.id !== s.term) return;
    const msg = m.msg;
    if (msg.case === undefined) throw new ConnectError('empty WorkerMessage', Code.InvalidArgument);
    if (msg.case === 'init') return this.protocol.onInit(s, term, msg.value);
    if (!s.initialized) throw failedPrecondition(`${msg.case.toUpperCase()} before INIT`);
    switch (msg.case) {
      case 'next':
        return this.protocol.onNext(s, term, msg.value);
      case 'progress':
        return this.protocol.onProgress(s, msg.value);
      case 'complete': {
        // The plan's end may unblock a conflicting plan, or leave nothing to wait for.
        await this.protocol.onComplete(s, term, msg.value);
        this.protocol.dispatch(this.gate.current);
        const next = msg.value.next;
        if (next === undefined) return;
        // A NEXT inside the COMPLETE: handled as if it came in the message after it.
        if (s.closed || s.out.isClosed) return;
        const after = this.gate.sync();
        if (after === undefined || after.id !== s.term) return;
        return this.protocol.onNext(s, after, next);
      }
      case 'failed':
        await this.protocol.onFailed(s, msg.value);
        return this.protocol.dispatch(this.gate.current);
      case 'adopt':
        return this.protocol.onAdopt(s, term, msg.value);
    }
  }

  /** Lease expiry, leadership and periodic planning; also driven by the timer from start(). */
  tick(): void {
    const term = this.gate.sync();
    if (term === undefined) return;
    const now = this.now();
    if (this.gate.graceJustEnded(now)) {
      this.log.info('grace period over; handing out plans', { epoch: term.epoch, ...this.queue.stats() });
    }
    for (const s of this.sessions.values()) {
      if (!s.initialized && now - s.openedAt >= this.initTimeoutMs) {
        const err = new ConnectError(`no INIT within ${this.initTimeoutMs} ms`, Code.DeadlineExceeded);
        s.out.fail(this.reject(s, err));
      }
    }
    const expired = this.leases.expire();
    for (const l of expired) {
      this.queue.release(l.plan.id);
      const s = this.sessions.get(l.streamId);
      this.log.warn('lease expired; re-queueing', { plan: l.plan.id, worker: l.workerId });
      if (s !== undefined) s.cancel(l.plan.id, 'lease expired: no progress reported in time');
    }
    if (expired.length > 0) void this.requeue(expired, 'lease-expired');
    this.protocol.expireHeld(now);
    this.protocol.dispatch(term);
    if (this.passes.due(now)) void this.passes.replan();
  }

  /** Whether a plan may become runnable before the periodic pass (see ProtocolOptions). */
  private workMayCome(): boolean {
    const q = this.queue.stats();
    return q.running + q.pending + this.retryTimers.size + this.requeuing > 0 || this.passes.busy();
  }

  /** Runs a planning pass now (or once more after the one in flight). */
  replan(): Promise<void> {
    return this.passes.replan();
  }

  // ---- terms ----

  private beginTerm(term: Term): void {
    this.leases.setEpoch(term.epoch);
    this.queue = new PlanQueue({ now: this.now });
    this.passes.reset();
    this.protocol.reset();
    this.log.info('leading', { epoch: term.epoch, graceMs: term.graceUntil - this.now() });
    void this.passes.replan();
  }

  /** Ends the term: NOT_LEADER everywhere (or, for a new epoch, a status so workers re-INIT). */
  private endTerm(old: Term, newEpoch: number | undefined): void {
    this.log.info(newEpoch === undefined ? 'lost leadership' : 'new leadership epoch', {
      epoch: old.epoch,
      newEpoch,
    });
    for (const s of this.sessions.values()) {
      if (newEpoch === undefined) s.notLeader(this.gate.leaderAddress());
      else
        s.out.fail(new ConnectError(`leadership epoch changed to ${newEpoch}; reconnect`, Code.Unavailable));
      s.closed = true;
    }
    this.sessions.clear();
    this.protocol.reset();
    this.leases.clear();
    this.queue = new PlanQueue({ now: this.now });
    this.passes.cancelTimer();
  }

  // ---- re-queueing ----

  private async requeue(
    leases: readonly Lease[],
    reason: RequeueReason,
    term = this.gate.current,
  ): Promise<void> {
    this.requeuing++;
    try {
      await requeueLeases(leases, {
        sourcesExist: (p) => this.source.sourcesExist(p),
        requeue: (p) => {
          if (this.gate.current !== term || this.leases.isParked(p.id) || this.leases.get(p.id) !== undefined)
            return;
          if (this.queue.push(p)) this.events.requeued?.({ plan: p, reason });
        },
        drop: (p, why) => this.log.info('not re-queueing plan', { plan: p.id, why }),
      });
    } finally {
      this.requeuing--;
    }
    this.protocol.dispatch(this.gate.current);
  }

  private requeueLater(lease: Lease, ms: number): void {
    const term = this.gate.current;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      void this.requeue([lease], 'failed', term);
    }, ms);
    timer.unref();
    this.retryTimers.add(timer);
  }
}
