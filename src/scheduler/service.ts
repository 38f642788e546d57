/**
 * The planner side of strata.v1.Planner/Connect, independent of the transport: one Session per
 * worker stream, the leadership gate, the queue, the leases and the planning passes. server.ts
 * binds it to HTTP/2 gRPC.
 *
 * Per stream: INIT first and exactly once; NEXT → PLAN or NO_PLAN; PROGRESS, COMPLETE and FAILED
 * only for plans the stream holds. Anything else ends that stream with a gRPC status
 * (InvalidArgument for malformed messages, FailedPrecondition for out-of-protocol ones) and leaves
 * every other stream alone.
 *
 * Leadership is polled (on every message and every tick). A new term (becoming leader, or a new
 * epoch) starts with a grace period in which no plan is handed out: reconnecting workers report
 * the plans they still run in INIT first, so nothing conflicting is handed out. Reports about
 * plans the stream holds are still accepted during the grace period: they cannot cause conflicts.
 * Losing leadership answers NOT_LEADER on every stream and closes it.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  PlannerMessageSchema,
  type Complete,
  type Failed,
  type Init,
  type PlannerMessage,
  type Progress,
  type WorkerMessage,
} from '../../gen/strata/v1/planner_pb.js';
import type { Plan, PlanBlock } from '../plan/index.js';
import { errorMessage } from '../util/errors.js';
import { nopLogger, type Logger } from '../util/logger.js';
import { Channel } from './channel.js';
import {
  planToWire,
  validateComplete,
  validateFailed,
  validateInit,
  validateProgress,
  type OutputDefaults,
  type ReportedPlan,
} from './codec.js';
import { LeaseTable, requeueLeases, type FailureOutcome, type Lease } from './leases.js';
import { PlanQueue } from './queue.js';

/** What the planner needs to know about leader election (src/ha implements it). */
export interface LeadershipView {
  isLeader(): boolean;
  /** Increases with every new leadership term; stamped on every plan handed out. */
  epoch(): number;
  /** host:port of the current leader's planner service, if known. */
  leaderAddress(): string | undefined;
}

/** Where plans come from and where their outcomes go (the bucket sync and planner). */
export interface PlanSource {
  /**
   * One planning pass over the bucket: every plan that can run now. Must reflect every
   * `onComplete` that resolved before the call.
   */
  nextPlans(): Promise<Plan[]>;
  /**
   * A worker finished the plan: its outputs are uploaded and its sources marked for deletion.
   * Must be idempotent: after a leader change the same completion can arrive twice.
   */
  onComplete(plan: Plan, outputs: readonly string[]): Promise<void>;
  /** The plan failed too often (or for good): mark `failingBlock` no-compact if known. */
  onParked(plan: Plan, failingBlock: string | undefined, reason: string): Promise<void>;
  /** Whether all sources are still in the bucket and not marked for deletion. */
  sourcesExist(plan: Plan): Promise<boolean>;
}

export type RequeueReason = 'lease-expired' | 'stream-closed' | 'abandoned' | 'failed';

/** Hooks for metrics and benchmarks; all optional and synchronous. */
export interface SchedulerEvents {
  planned?(e: { plans: number; added: number; removed: number; durationMs: number }): void;
  assigned?(e: { plan: Plan; workerId: string; epoch: number; waitMs: number }): void;
  completed?(e: { plan: Plan; workerId: string; outputs: readonly string[]; olderEpoch: boolean }): void;
  failed?(e: { plan: Plan; workerId: string; outcome: FailureOutcome }): void;
  requeued?(e: { plan: Plan; reason: RequeueReason }): void;
  rejected?(e: { workerId: string | undefined; code: Code; message: string }): void;
}

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
  /** Lease expiry and leadership check period. Default 1 s. */
  readonly tickMs?: number;
  /** Largest capacity a worker may announce. Default 1024. */
  readonly maxCapacity?: number;
  /** A stream that sends no INIT for this long is closed (DEADLINE_EXCEEDED). Default 30 s. */
  readonly initTimeoutMs?: number;
  readonly output?: Partial<OutputDefaults>;
  readonly events?: SchedulerEvents;
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

/** One worker stream. `out` carries the planner's messages to it. */
export class Session {
  readonly out = new Channel<PlannerMessage>();
  workerId: string | undefined;
  capacity = 0;
  initialized = false;
  closed = false;
  /** Plans cancelled on this stream: late reports about them are ignored, not refused. */
  readonly cancelled = new Set<string>();

  constructor(
    readonly id: string,
    readonly term: number,
    readonly openedAt: number,
  ) {}
}

interface Term {
  readonly id: number;
  readonly epoch: number;
  readonly graceUntil: number;
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
 * marked for deletion), or it covers part of c's range in c's group without c's output (so it
 * would compact around it and need another vertical merge later).
 */
export function plannedBefore(p: Plan, c: Consumed): boolean {
  if (p.tenant !== c.tenant) return false;
  if (p.sources.some((b) => c.ulids.has(b.ulid))) return true;
  if (p.groupKey !== c.groupKey || p.minTime >= c.maxTime || c.minTime >= p.maxTime) return false;
  return !c.outputs.every((o) => p.sources.some((b) => b.ulid === o));
}

const MAX_CANCELLED_REMEMBERED = 1024;
const MAX_REPORTED_REMEMBERED = 100_000;
/** Completion-triggered passes wait at least this many times the last pass's duration. */
const PASS_GAP_FACTOR = 4;

function failedPrecondition(msg: string): ConnectError {
  return new ConnectError(msg, Code.FailedPrecondition);
}

function message(m: MessageInitShape<typeof PlannerMessageSchema>['msg']): PlannerMessage {
  return create(PlannerMessageSchema, { msg: m });
}

/** A Plan standing in for a running plan this planner did not hand out (only what conflicts need). */
function planFromRunning(r: ReportedPlan): Plan {
  const sources: PlanBlock[] = r.sourceUlids.map((ulid) => ({
    ulid,
    minTime: r.minTime,
    maxTime: r.maxTime,
    stats: { numSamples: 0, numSeries: 0, numChunks: 0, numTombstones: 0 },
    compaction: { level: 0, sources: [ulid] },
    version: 1,
    tenant: r.tenant,
    noCompact: false,
  }));
  return {
    id: r.planId,
    tenant: r.tenant,
    groupKey: r.groupKey,
    resolution: 0,
    labels: {},
    sources,
    minTime: r.minTime,
    maxTime: r.maxTime,
    kind: 'horizontal',
    outputLevel: 0,
    dedup: 'none',
  };
}

export class PlannerService {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly leases: LeaseTable;
  private queue: PlanQueue;
  private readonly sessions = new Map<string, Session>();
  private term: Term | undefined;
  private terms = 0;
  private sessionSeq = 0;
  private graceLogged = false;
  private pass: Promise<void> | undefined;
  private passTerm: Term | undefined;
  private stopped = false;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private passAgain = false;
  private passesStarted = 0;
  private lastPassAt = -Infinity;
  private lastPassEnd = -Infinity;
  private lastPassMs = 0;
  private consumed: Consumed[] = [];
  /**
   * Plans whose COMPLETE or FAILED this term processed. A worker whose stream broke before it saw
   * proof of that sends the result again (INIT + report); it gets CANCEL instead of a second
   * completion.
   */
  private readonly reported = new Map<string, 'completed' | 'failed'>();
  private replanTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly o: Required<Omit<PlannerServiceOptions, 'logger' | 'now' | 'output' | 'events'>> & {
    readonly output: OutputDefaults;
    readonly events: SchedulerEvents;
  };

  constructor(opts: PlannerServiceOptions) {
    this.log = opts.logger ?? nopLogger;
    this.now = opts.now ?? Date.now;
    this.o = {
      leadership: opts.leadership,
      source: opts.source,
      leaseTimeoutMs: opts.leaseTimeoutMs ?? 60_000,
      maxFailures: opts.maxFailures ?? 3,
      retryDelayMs: opts.retryDelayMs ?? 10_000,
      graceMs: opts.graceMs ?? 15_000,
      replanIntervalMs: opts.replanIntervalMs ?? 60_000,
      replanDelayMs: opts.replanDelayMs ?? 1000,
      noPlanRetryMs: opts.noPlanRetryMs ?? 5000,
      tickMs: opts.tickMs ?? 1000,
      maxCapacity: opts.maxCapacity ?? 1024,
      initTimeoutMs: opts.initTimeoutMs ?? 30_000,
      output: {
        replicaLabels: opts.output?.replicaLabels ?? [],
        maxSamplesPerChunk: opts.output?.maxSamplesPerChunk ?? 0,
      },
      events: opts.events ?? {},
    };
    this.leases = new LeaseTable({
      now: this.now,
      timeoutMs: this.o.leaseTimeoutMs,
      maxFailures: this.o.maxFailures,
    });
    this.queue = new PlanQueue({ now: this.now });
  }

  /** Starts the periodic tick (lease expiry, leadership, periodic planning). */
  start(): void {
    if (this.tickTimer !== undefined) return;
    this.tickTimer = setInterval(() => this.tick(), this.o.tickMs);
    this.tickTimer.unref();
    this.syncLeadership();
  }

  /** Stops the timers and ends every stream (OK status, no message). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.tickTimer);
    clearTimeout(this.replanTimer);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.tickTimer = undefined;
    this.replanTimer = undefined;
    for (const s of this.sessions.values()) s.out.close();
  }

  stats(): SchedulerStats {
    const q = this.queue.stats();
    const t = this.term;
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
  runningPlans(): {
    plan: string;
    tenant: string;
    worker: string;
    epoch: number;
    startedAt: number;
    phase: string | undefined;
  }[] {
    return this.leases.all().map((l) => ({
      plan: l.plan.id,
      tenant: l.plan.tenant,
      worker: l.workerId,
      epoch: l.epoch,
      startedAt: l.grantedAt,
      phase: l.progress?.phase,
    }));
  }

  /** Connected, initialized worker streams. */
  workers(): { worker: string; capacity: number; stream: string }[] {
    const out: { worker: string; capacity: number; stream: string }[] = [];
    for (const s of this.sessions.values()) {
      if (s.initialized) out.push({ worker: s.workerId ?? '', capacity: s.capacity, stream: s.id });
    }
    return out;
  }

  /** A new stream. A follower answers NOT_LEADER on it right away and closes it. */
  open(): Session {
    const term = this.stopped ? undefined : this.syncLeadership();
    const s = new Session(`s${++this.sessionSeq}`, term?.id ?? 0, this.now());
    if (this.stopped) {
      s.out.fail(new ConnectError('planner is shutting down', Code.Unavailable));
      return s;
    }
    if (term === undefined) {
      this.notLeader(s);
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
    this.o.events.rejected?.({ workerId: s.workerId, code: ce.code, message: ce.rawMessage });
    return ce;
  }

  /** Processes one message of a stream; throws a ConnectError to end the stream. */
  async handle(s: Session, m: WorkerMessage): Promise<void> {
    if (s.closed || s.out.isClosed) return;
    const term = this.syncLeadership();
    if (term === undefined || term.id !== s.term) {
      // syncLeadership already answered and closed the stream.
      return;
    }
    const msg = m.msg;
    if (msg.case === undefined) throw new ConnectError('empty WorkerMessage', Code.InvalidArgument);
    if (msg.case === 'init') return this.onInit(s, term, msg.value);
    if (!s.initialized) throw failedPrecondition(`${msg.case.toUpperCase()} before INIT`);
    switch (msg.case) {
      case 'next':
        return this.onNext(s, term);
      case 'progress':
        return this.onProgress(s, msg.value);
      case 'complete':
        return this.onComplete(s, term, msg.value);
      case 'failed':
        return this.onFailed(s, msg.value);
    }
  }

  /** Lease expiry, leadership and periodic planning; also driven by the timer from start(). */
  tick(): void {
    const term = this.syncLeadership();
    if (term === undefined) return;
    const now = this.now();
    if (!this.graceLogged && now >= term.graceUntil) {
      this.graceLogged = true;
      this.log.info('grace period over; handing out plans', { epoch: term.epoch, ...this.queue.stats() });
    }
    for (const s of this.sessions.values()) {
      if (!s.initialized && now - s.openedAt >= this.o.initTimeoutMs) {
        const err = new ConnectError(`no INIT within ${this.o.initTimeoutMs} ms`, Code.DeadlineExceeded);
        s.out.fail(this.reject(s, err));
      }
    }
    const expired = this.leases.expire();
    for (const l of expired) {
      this.queue.release(l.plan.id);
      const s = this.sessions.get(l.streamId);
      this.log.warn('lease expired; re-queueing', { plan: l.plan.id, worker: l.workerId });
      if (s !== undefined) this.cancel(s, l.plan.id, 'lease expired: no progress reported in time');
    }
    if (expired.length > 0) void this.requeue(expired, 'lease-expired');
    if (now - this.lastPassAt >= this.o.replanIntervalMs) void this.replan();
  }

  /** Runs a planning pass now (or once more after the one in flight). */
  replan(): Promise<void> {
    const term = this.term;
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
        } while (this.passAgain && this.term === term);
      } finally {
        this.pass = undefined;
      }
    })();
    return this.pass;
  }

  // ---- leadership ----

  private syncLeadership(): Term | undefined {
    const view = this.o.leadership;
    if (!view.isLeader()) {
      if (this.term !== undefined) this.endTerm(undefined);
      return undefined;
    }
    const epoch = view.epoch();
    if (this.term !== undefined && this.term.epoch === epoch) return this.term;
    if (this.term !== undefined) this.endTerm(epoch);
    const now = this.now();
    this.term = { id: ++this.terms, epoch, graceUntil: now + this.o.graceMs };
    this.graceLogged = this.o.graceMs <= 0;
    this.leases.setEpoch(epoch);
    this.queue = new PlanQueue({ now: this.now });
    this.consumed = [];
    this.reported.clear();
    this.lastPassAt = -Infinity;
    this.log.info('leading', { epoch, graceMs: this.o.graceMs });
    void this.replan();
    return this.term;
  }

  /** Ends the term: NOT_LEADER everywhere (or, for a new epoch, a status so workers re-INIT). */
  private endTerm(newEpoch: number | undefined): void {
    const old = this.term;
    this.term = undefined;
    this.log.info(newEpoch === undefined ? 'lost leadership' : 'new leadership epoch', {
      epoch: old?.epoch,
      newEpoch,
    });
    for (const s of this.sessions.values()) {
      if (newEpoch === undefined) this.notLeader(s);
      else
        s.out.fail(new ConnectError(`leadership epoch changed to ${newEpoch}; reconnect`, Code.Unavailable));
      s.closed = true;
    }
    this.sessions.clear();
    this.leases.clear();
    this.queue = new PlanQueue({ now: this.now });
    clearTimeout(this.replanTimer);
    this.replanTimer = undefined;
  }

  private notLeader(s: Session): void {
    s.out.push(
      message({ case: 'notLeader', value: { leaderAddress: this.o.leadership.leaderAddress() ?? '' } }),
    );
    s.out.close();
  }

  // ---- messages ----

  private onInit(s: Session, term: Term, m: Init): void {
    if (s.initialized) throw failedPrecondition('duplicate INIT');
    const init = validateInit(m, this.o.maxCapacity);
    for (const r of init.running) {
      if (r.epoch > term.epoch) {
        throw failedPrecondition(
          `plan ${r.planId} came with epoch ${r.epoch}, newer than this planner's ${term.epoch}`,
        );
      }
    }
    s.workerId = init.workerId;
    s.capacity = init.capacity;
    s.initialized = true;
    const adopted: string[] = [];
    for (const r of init.running) {
      const held = this.leases.get(r.planId);
      if (held !== undefined && held.workerId === init.workerId) {
        // The same worker on a new stream before its old one was noticed gone: move the lease.
        this.leases.transfer(r.planId, s.id);
        adopted.push(r.planId);
        continue;
      }
      if (held !== undefined) {
        this.cancel(s, r.planId, `running on worker ${held.workerId}`);
        continue;
      }
      const done = this.reported.get(r.planId);
      if (done !== undefined) {
        this.cancel(s, r.planId, `already ${done}`);
        continue;
      }
      const plan = this.queue.pendingPlan(r.planId) ?? planFromRunning(r);
      const conflict = this.queue.runningConflict(plan);
      if (conflict !== undefined) {
        this.cancel(s, r.planId, `conflicts with running plan ${conflict.id}`);
        continue;
      }
      this.queue.adopt(plan);
      this.leases.adopt(plan, s.id, init.workerId, r.epoch);
      adopted.push(r.planId);
    }
    this.log.info('worker connected', {
      stream: s.id,
      worker: init.workerId,
      capacity: init.capacity,
      adopted: adopted.length,
    });
  }

  private onNext(s: Session, term: Term): void {
    const held = this.leases.countFor(s.id);
    if (held >= s.capacity) {
      throw failedPrecondition(`NEXT while holding ${held} plans with capacity ${s.capacity}`);
    }
    const now = this.now();
    if (now < term.graceUntil) {
      s.out.push(message({ case: 'noPlan', value: { retryAfterMs: Math.ceil(term.graceUntil - now) } }));
      return;
    }
    const a = this.queue.next();
    if (a === undefined) {
      s.out.push(message({ case: 'noPlan', value: { retryAfterMs: this.o.noPlanRetryMs } }));
      return;
    }
    const workerId = s.workerId!;
    this.leases.grant(a.plan, s.id, workerId);
    this.reported.delete(a.plan.id);
    s.out.push(message({ case: 'plan', value: planToWire(a.plan, term.epoch, this.o.output) }));
    this.o.events.assigned?.({ plan: a.plan, workerId, epoch: term.epoch, waitMs: now - a.enqueuedAt });
  }

  /** The lease of a plan this stream reports on; undefined for a plan cancelled here (ignore). */
  private heldLease(s: Session, planId: string, what: string, epoch: number): Lease | undefined {
    const lease = this.leases.heldBy(s.id, planId);
    if (lease === undefined) {
      if (s.cancelled.has(planId)) {
        this.log.debug(`ignoring ${what} of a cancelled plan`, { worker: s.workerId, plan: planId });
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

  private onProgress(s: Session, wire: Progress): void {
    const m = validateProgress(wire);
    const lease = this.heldLease(s, m.planId, 'PROGRESS', m.epoch);
    if (lease === undefined) return;
    this.leases.refresh(lease, { phase: m.phase, bytesDone: m.bytesDone, bytesTotal: m.bytesTotal });
  }

  private async onComplete(s: Session, term: Term, wire: Complete): Promise<void> {
    const m = validateComplete(wire);
    const lease = this.heldLease(s, m.planId, 'COMPLETE', m.epoch);
    if (lease === undefined) return;
    this.leases.complete(m.planId);
    this.queue.release(m.planId);
    this.remember(m.planId, 'completed');
    const olderEpoch = lease.epoch < term.epoch;
    const consumed: Consumed = {
      tenant: lease.plan.tenant,
      groupKey: lease.plan.groupKey,
      minTime: lease.plan.minTime,
      maxTime: lease.plan.maxTime,
      ulids: new Set(lease.plan.sources.map((b) => b.ulid)),
      outputs: [...m.outputs],
      settledAt: undefined,
    };
    this.consumed.push(consumed);
    // Pending plans that read the consumed blocks (marked for deletion) or cover the plan's range
    // without its output are void; the pass this completion triggers plans them again.
    const voided = this.queue.removeWhere(lease.plan.tenant, (p) => plannedBefore(p, consumed));
    if (voided.length > 0) this.log.debug('dropped plans that read completed sources', { plans: voided });
    this.log.info('plan completed', {
      plan: m.planId,
      worker: s.workerId,
      outputs: m.outputs,
      ...(olderEpoch ? { epoch: lease.epoch } : {}),
    });
    this.o.events.completed?.({ plan: lease.plan, workerId: lease.workerId, outputs: m.outputs, olderEpoch });
    try {
      await this.o.source.onComplete(lease.plan, m.outputs);
    } catch (err) {
      this.log.error('recording a completed plan failed', { plan: m.planId, err: errorMessage(err) });
    }
    consumed.settledAt = this.passesStarted;
    this.scheduleReplan();
  }

  private async onFailed(s: Session, wire: Failed): Promise<void> {
    const m = validateFailed(wire, this.leases.heldBy(s.id, wire.planId)?.plan.sources);
    const lease = this.heldLease(s, m.planId, 'FAILED', m.epoch);
    if (lease === undefined) return;
    const plan = lease.plan;
    if (m.abandoned) {
      this.leases.release(m.planId);
      this.queue.release(m.planId);
      this.log.info('plan abandoned by its worker; re-queueing', { plan: m.planId, worker: s.workerId });
      await this.requeue([lease], 'abandoned');
      return;
    }
    const outcome = this.leases.fail(m.planId, {
      reason: m.reason,
      retryable: m.retryable,
      failingBlock: m.failingBlock,
    });
    this.queue.release(m.planId);
    this.remember(m.planId, 'failed');
    this.o.events.failed?.({ plan, workerId: lease.workerId, outcome });
    if (outcome.action === 'retry') {
      this.log.warn('plan failed; will retry', {
        plan: m.planId,
        worker: s.workerId,
        failures: outcome.failures,
        reason: m.reason,
        retryInMs: this.o.retryDelayMs * 2 ** (outcome.failures - 1),
      });
      const wait = this.o.retryDelayMs * 2 ** (outcome.failures - 1);
      if (wait <= 0) {
        await this.requeue([lease], 'failed');
        return;
      }
      const term = this.term;
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        void this.requeue([lease], 'failed', term);
      }, wait);
      timer.unref();
      this.retryTimers.add(timer);
      return;
    }
    this.log.error('plan parked', {
      plan: m.planId,
      worker: s.workerId,
      failures: outcome.failures,
      failingBlock: outcome.failingBlock,
      reason: outcome.reason,
    });
    try {
      await this.o.source.onParked(plan, outcome.failingBlock, outcome.reason);
    } catch (err) {
      this.log.error('recording a parked plan failed', { plan: m.planId, err: errorMessage(err) });
    }
  }

  // ---- helpers ----

  private remember(planId: string, what: 'completed' | 'failed'): void {
    this.reported.delete(planId);
    this.reported.set(planId, what);
    if (this.reported.size > MAX_REPORTED_REMEMBERED)
      this.reported.delete(this.reported.keys().next().value!);
  }

  private cancel(s: Session, planId: string, reason: string): void {
    s.cancelled.add(planId);
    if (s.cancelled.size > MAX_CANCELLED_REMEMBERED) {
      s.cancelled.delete(s.cancelled.values().next().value!);
    }
    s.out.push(message({ case: 'cancel', value: { planId, reason } }));
  }

  private async requeue(leases: readonly Lease[], reason: RequeueReason, term = this.term): Promise<void> {
    await requeueLeases(leases, {
      sourcesExist: (p) => this.o.source.sourcesExist(p),
      requeue: (p) => {
        if (this.term !== term || this.leases.isParked(p.id) || this.leases.get(p.id) !== undefined) return;
        if (this.queue.push(p)) this.o.events.requeued?.({ plan: p, reason });
      },
      drop: (p, why) => this.log.info('not re-queueing plan', { plan: p.id, why }),
    });
  }

  private scheduleReplan(): void {
    if (this.replanTimer !== undefined || this.term === undefined) return;
    const sinceLast = this.now() - this.lastPassEnd;
    const delay = Math.max(this.o.replanDelayMs, PASS_GAP_FACTOR * this.lastPassMs - sinceLast);
    this.replanTimer = setTimeout(() => {
      this.replanTimer = undefined;
      void this.replan();
    }, delay);
    this.replanTimer.unref();
  }

  private async runPass(term: Term): Promise<void> {
    const k = ++this.passesStarted;
    const t0 = this.now();
    this.lastPassAt = t0;
    let plans: Plan[];
    try {
      plans = await this.o.source.nextPlans();
    } catch (err) {
      this.log.error('planning pass failed', { err: errorMessage(err) });
      return;
    }
    if (this.term !== term) return;
    // A completion that settled after this pass began may not be reflected in its result.
    const parked = this.leases.parkedCount > 0;
    // Completions settled before this pass began are reflected in it (PlanSource contract).
    this.consumed = this.consumed.filter((c) => c.settledAt === undefined || c.settledAt >= k);
    const byTenant = new Map<string, Consumed[]>();
    for (const c of this.consumed) {
      const list = byTenant.get(c.tenant);
      if (list === undefined) byTenant.set(c.tenant, [c]);
      else list.push(c);
    }
    const fresh =
      byTenant.size === 0 && !parked
        ? plans
        : plans.filter((p) => {
            if (parked && this.leases.isParked(p.id)) return false;
            const done = byTenant.get(p.tenant);
            return done === undefined || !done.some((c) => plannedBefore(p, c));
          });
    const r = this.queue.replace(fresh);
    this.lastPassEnd = this.now();
    const durationMs = this.lastPassEnd - t0;
    this.lastPassMs = durationMs;
    this.log.debug('planning pass', { plans: plans.length, ...r, durationMs });
    this.o.events.planned?.({ plans: fresh.length, added: r.added, removed: r.removed, durationMs });
  }
}
