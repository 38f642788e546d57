/**
 * What a compaction process did lately, kept in memory for the web UI: the last passes, the last
 * failed plans, and the backlog over time (a ring buffer of samples, one per pass and at least one
 * every 30 s, covering 24 h). Plus the "behind" verdict, so a halted or lagging compactor does not
 * look healthy (thanos-io/thanos#2887, grafana/mimir#8556). No I/O; the clock is passed in.
 */

/** One backlog sample: what is left to do at `atMs` (summed over tenants). */
export interface BacklogSample {
  readonly atMs: number;
  readonly todoCompactions: number;
  readonly todoCompactionBlocks: number;
  readonly todoDownsamples: number;
  /** Blocks marked for deletion, waiting for the delete delay; null where not tracked (planner). */
  readonly todoDeletions: number | null;
}

export interface PassRecord {
  readonly startMs: number;
  readonly durationMs: number;
  readonly outcome: 'ok' | 'failed' | 'aborted';
  readonly plansDone: number;
  readonly plansFailed: number;
  /** Why a pass failed (its error's message). */
  readonly error?: string;
}

export interface PlanFailure {
  readonly atMs: number;
  readonly plan: string;
  readonly tenant: string;
  readonly kind: string;
  /** The stable error code (ERR_...), '' when the error had none. */
  readonly code: string;
  readonly message: string;
}

export const BACKLOG_WINDOW_MS = 24 * 3600_000;
export const BACKLOG_SAMPLE_EVERY_MS = 30_000;

/** Keeps the newest `capacity` items, oldest first. */
export class Recent<T> {
  private readonly items: T[] = [];
  constructor(private readonly capacity: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
  }

  /** Newest first. */
  newestFirst(): T[] {
    return [...this.items].reverse();
  }

  get last(): T | undefined {
    return this.items[this.items.length - 1];
  }
}

/**
 * Backlog samples over the last `windowMs`, in a fixed ring. Each `spacingMs` slot keeps at most
 * two samples, its first and its latest (a later one replaces the latest), so a burst of passes
 * neither pushes the window out nor hides where the burst started.
 */
export class BacklogHistory {
  private readonly ring: (BacklogSample | undefined)[];
  private next = 0;
  private size = 0;
  private slotStartMs = -Infinity;
  private inSlot = 0;

  constructor(
    private readonly windowMs = BACKLOG_WINDOW_MS,
    private readonly spacingMs = BACKLOG_SAMPLE_EVERY_MS,
  ) {
    this.ring = new Array<BacklogSample | undefined>(2 * Math.ceil(windowMs / spacingMs) + 2);
  }

  add(s: BacklogSample): void {
    const last = this.latest;
    if (last !== undefined && s.atMs < last.atMs) return;
    if (s.atMs - this.slotStartMs < this.spacingMs && this.inSlot >= 2) {
      this.ring[(this.next - 1 + this.ring.length) % this.ring.length] = s;
      return;
    }
    if (s.atMs - this.slotStartMs >= this.spacingMs) {
      this.slotStartMs = s.atMs;
      this.inSlot = 0;
    }
    this.inSlot++;
    this.ring[this.next] = s;
    this.next = (this.next + 1) % this.ring.length;
    this.size = Math.min(this.size + 1, this.ring.length);
  }

  /** The samples of the last window before `nowMs`, oldest first. */
  samples(nowMs: number): BacklogSample[] {
    const out: BacklogSample[] = [];
    const start = (this.next - this.size + this.ring.length) % this.ring.length;
    for (let i = 0; i < this.size; i++) {
      const s = this.ring[(start + i) % this.ring.length]!;
      if (s.atMs >= nowMs - this.windowMs) out.push(s);
    }
    return out;
  }

  get latest(): BacklogSample | undefined {
    return this.size > 0 ? this.ring[(this.next - 1 + this.ring.length) % this.ring.length] : undefined;
  }
}

/** standby: an HA replica that does not lead; another one compacts. */
export type Health = 'ok' | 'behind' | 'halted' | 'standby';

export interface Verdict {
  readonly state: Health;
  /** Each reason for the state, in words (empty when ok). */
  readonly reasons: readonly string[];
}

export interface VerdictInput {
  readonly nowMs: number;
  /** When the process started, or last began to lead (the first pass is due within one interval). */
  readonly startedMs: number;
  /** How often a pass is due (the wait or replan interval). */
  readonly intervalMs: number;
  /** When the last successful pass ended; undefined before the first. */
  readonly lastSuccessMs: number | undefined;
  /** When the last plan finished (either way): work moving inside a long pass. */
  readonly lastPlanEndMs: number | undefined;
  readonly backlog: readonly BacklogSample[];
}

/** The backlog trend looks this far back; the growing-backlog alert of deploy/ uses 6 h too. */
export const TREND_WINDOW_MS = 6 * 3600_000;

const work = (s: BacklogSample): number => s.todoCompactionBlocks + s.todoDownsamples;

/**
 * halted: no pass succeeded and no plan ended for 3 intervals (nothing moves); behind: the last
 * success is older than 2 intervals, or the backlog grew over the trend window (at least an hour
 * of samples, never empty in between, larger at the end than at its start).
 */
export function behindVerdict(v: VerdictInput): Verdict {
  const since = v.lastSuccessMs ?? v.startedMs;
  const age = v.nowMs - since;
  const moving = v.lastPlanEndMs !== undefined && v.nowMs - v.lastPlanEndMs < 3 * v.intervalMs;
  const reasons: string[] = [];
  const what =
    v.lastSuccessMs === undefined
      ? `no successful pass in the ${fmt(age)} since start (or since it began to lead)`
      : `last successful pass ${fmt(age)} ago`;
  if (age > 3 * v.intervalMs && !moving) {
    return {
      state: 'halted',
      reasons: [`${what} and no plan finished since; interval ${fmt(v.intervalMs)}`],
    };
  }
  if (age > 2 * v.intervalMs) reasons.push(`${what}; interval ${fmt(v.intervalMs)}`);
  const recent = v.backlog.filter((s) => s.atMs >= v.nowMs - TREND_WINDOW_MS);
  const first = recent[0];
  const last = recent[recent.length - 1];
  if (
    first !== undefined &&
    last !== undefined &&
    last.atMs - first.atMs >= 3600_000 &&
    work(last) > work(first) &&
    recent.every((s) => work(s) > 0)
  ) {
    reasons.push(
      `backlog grew from ${work(first)} to ${work(last)} blocks in ${fmt(last.atMs - first.atMs)} without emptying`,
    );
  }
  return { state: reasons.length > 0 ? 'behind' : 'ok', reasons };
}

function fmt(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m}m` : `${(m / 60).toFixed(1)}h`;
}

/** The record a compaction process keeps: passes, failures, backlog, and when work last moved. */
export class CompactionActivity {
  readonly passes = new Recent<PassRecord>(50);
  readonly failures = new Recent<PlanFailure>(50);
  readonly backlog = new BacklogHistory();
  /** Process start, or when it last began to lead. */
  private activeSinceMs: number;
  private standbyReason: string | undefined;
  lastSuccessMs: number | undefined;
  lastPlanEndMs: number | undefined;
  /** When the pass in progress started (strata compact), if one is. */
  passRunningSinceMs: number | undefined;
  /** Plans ended since the last pass record began. */
  private done = 0;
  private failed = 0;

  constructor(
    private readonly now: () => number,
    readonly intervalMs: number,
  ) {
    this.activeSinceMs = now();
  }

  /**
   * Says whether this replica stands by (why, e.g. who leads) or works (undefined). A replica that
   * begins to lead is judged from then on, not from passes of an earlier term.
   */
  setStandby(reason: string | undefined): void {
    if (reason === undefined && this.standbyReason !== undefined) this.activeSinceMs = this.now();
    this.standbyReason = reason;
  }

  passStarted(): void {
    this.passRunningSinceMs = this.now();
    this.done = 0;
    this.failed = 0;
  }

  /** Ends the pass begun by passStarted(). */
  passEnded(outcome: PassRecord['outcome'], error?: string): void {
    const start = this.passRunningSinceMs ?? this.now();
    this.passRunningSinceMs = undefined;
    this.record(start, outcome, error);
  }

  /** A pass that took `durationMs` and just ended (the planner's planning passes). */
  passCompleted(durationMs: number): void {
    this.record(this.now() - durationMs, 'ok');
  }

  private record(startMs: number, outcome: PassRecord['outcome'], error?: string): void {
    const end = this.now();
    this.passes.push({
      startMs,
      durationMs: end - startMs,
      outcome,
      plansDone: this.done,
      plansFailed: this.failed,
      ...(error !== undefined ? { error } : {}),
    });
    this.done = 0;
    this.failed = 0;
    if (outcome === 'ok') this.lastSuccessMs = end;
  }

  planDone(): void {
    this.lastPlanEndMs = this.now();
    this.done++;
  }

  planFailed(f: Omit<PlanFailure, 'atMs'>): void {
    this.lastPlanEndMs = this.now();
    this.failed++;
    this.failures.push({ atMs: this.lastPlanEndMs, ...f });
  }

  sample(s: Omit<BacklogSample, 'atMs'>): void {
    this.backlog.add({ atMs: this.now(), ...s });
  }

  verdict(): Verdict {
    if (this.standbyReason !== undefined) return { state: 'standby', reasons: [this.standbyReason] };
    const nowMs = this.now();
    const success = this.lastSuccessMs;
    return behindVerdict({
      nowMs,
      startedMs: this.activeSinceMs,
      intervalMs: this.intervalMs,
      lastSuccessMs: success !== undefined && success >= this.activeSinceMs ? success : undefined,
      lastPlanEndMs: this.lastPlanEndMs,
      backlog: this.backlog.samples(nowMs),
    });
  }
}

/** A plan executing now, wherever it runs (a thread here, or a worker of the planner). */
export interface RunningPlanInfo {
  readonly id: string;
  readonly tenant: string;
  /** `compact`, `downsample`; undefined when only the footprint is known (adopted by a planner). */
  readonly kind: string | undefined;
  readonly sources: readonly string[];
  readonly phase: string | undefined;
  /** The worker (planner) or `local` (strata compact). */
  readonly worker: string;
  readonly startedMs: number;
}

/** A plan waiting to run (Mimir's planned jobs). */
export interface QueuedPlanInfo {
  readonly id: string;
  readonly tenant: string;
  readonly kind: string;
  readonly sources: readonly string[];
  readonly minTime: number;
  readonly maxTime: number;
  readonly resolution: number;
  readonly outputLevel: number;
}

/** A plan taken out of the queue after repeated failures. */
export interface ParkedPlanInfo {
  readonly id: string;
  readonly tenant: string;
  readonly failures: number;
  readonly reason: string;
  readonly failingBlock: string | undefined;
  readonly parkedMs: number;
}

/** What the compaction page shows, from whichever process runs compactions. */
export interface CompactionSnapshot {
  readonly running: readonly RunningPlanInfo[];
  readonly queued: readonly QueuedPlanInfo[];
  readonly parked: readonly ParkedPlanInfo[];
}

/** The queued-plan view of a plan. */
export function queuedPlanInfo(p: {
  id: string;
  tenant: string;
  kind: string;
  sources: readonly { ulid: string }[];
  minTime: number;
  maxTime: number;
  resolution: number;
  outputLevel: number;
}): QueuedPlanInfo {
  return {
    id: p.id,
    tenant: p.tenant,
    kind: p.kind,
    sources: p.sources.map((s) => s.ulid),
    minTime: p.minTime,
    maxTime: p.maxTime,
    resolution: p.resolution,
    outputLevel: p.outputLevel,
  };
}

/** A backlog sample's counts from per-tenant progress. */
export function backlogOf(
  tenants: Iterable<{ todoCompactions: number; todoCompactionBlocks: number; pendingDeletion: number }>,
  todoDownsamples: number,
): Omit<BacklogSample, 'atMs'> {
  let todoCompactions = 0;
  let todoCompactionBlocks = 0;
  let todoDeletions = 0;
  for (const t of tenants) {
    todoCompactions += t.todoCompactions;
    todoCompactionBlocks += t.todoCompactionBlocks;
    todoDeletions += t.pendingDeletion;
  }
  return { todoCompactions, todoCompactionBlocks, todoDownsamples, todoDeletions };
}

/** A backlog sample from the plans a planner holds: deletions are the cleaner's, not counted here. */
export function backlogOfPlans(s: CompactionSnapshot): Omit<BacklogSample, 'atMs'> {
  let todoCompactions = 0;
  let todoCompactionBlocks = 0;
  let todoDownsamples = 0;
  for (const p of [...s.queued, ...s.running]) {
    if (p.kind === 'downsample') todoDownsamples++;
    else {
      todoCompactions++;
      todoCompactionBlocks += p.sources.length;
    }
  }
  return { todoCompactions, todoCompactionBlocks, todoDownsamples, todoDeletions: null };
}
