/**
 * The worker's plans in flight: each runs through a PlanExecutor until it ends in a result (done,
 * failed with its classification, or abandoned); the result waits here until the connection
 * (worker.ts) reports it. A plan the planner cancels is aborted and forgotten, never reported.
 */
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { NoCompactReason } from '../tsdb/markers.js';
import type { AssignedPlan } from './codec.js';
import type { RunningPlanInfo } from '../compactor/activity.js';

export interface ProgressUpdate {
  /** "download", "compact", "upload", "mark"... */
  readonly phase: string;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface ExecuteContext {
  readonly onProgress: (p: ProgressUpdate) => void;
  /** Aborted when the planner cancels the plan or the worker abandons it. */
  readonly signal: AbortSignal;
}

export interface ExecuteResult {
  /** ULIDs of the uploaded output blocks. */
  readonly outputs: readonly string[];
}

/** Runs one plan end to end (src/compactor provides the real one). */
export interface PlanExecutor {
  execute(plan: AssignedPlan, ctx: ExecuteContext): Promise<ExecuteResult>;
}

/** What a failure means to the planner. */
export interface FailureClass {
  /** Transient (network, storage): another attempt may succeed. */
  readonly retryable: boolean;
  /** Source block to blame (and mark no-compact), if known. */
  readonly failingBlock?: string;
  /** The no-compact reason for `failingBlock` (default `critical`). */
  readonly noCompactReason?: NoCompactReason;
  /** Stable code of the error, if it has one. */
  readonly code?: string;
  /** Default: the error's message. */
  readonly reason?: string;
}

export type Classify = (err: unknown, plan: AssignedPlan) => FailureClass;

export type RunResult =
  | { readonly kind: 'complete'; readonly outputs: readonly string[] }
  | {
      readonly kind: 'failed';
      readonly reason: string;
      readonly retryable: boolean;
      readonly failingBlock: string;
      readonly noCompactReason: string;
      readonly code: string;
      readonly abandoned: boolean;
    };

export interface Run {
  readonly plan: AssignedPlan;
  /** The link (planner) its reports go to: where it came from, or who adopted it. */
  home: string;
  readonly abort: AbortController;
  progress: ProgressUpdate | undefined;
  /** Phase last sent, to send phase changes at once and the rest with the heartbeat. */
  sentPhase: string | undefined;
  result: RunResult | undefined;
  abandoned: boolean;
  readonly startedAt: number;
}

const ABANDONED = (reason: string): RunResult => ({
  kind: 'failed',
  reason,
  retryable: true,
  failingBlock: '',
  noCompactReason: '',
  code: '',
  abandoned: true,
});

export interface PlanRunsOptions {
  readonly executor: PlanExecutor;
  /** Default: every failure is retryable and blames no block. */
  readonly classify?: Classify;
  readonly log: Logger;
  /** A run has its result: report it (now, or after the next INIT). */
  readonly finished: (run: Run) => void;
  /** A run entered a new phase: send its progress now. */
  readonly phaseChanged: (run: Run) => void;
  readonly now?: () => number;
}

export class PlanRuns {
  private readonly runs = new Map<string, Run>();

  constructor(private readonly o: PlanRunsOptions) {}

  get size(): number {
    return this.runs.size;
  }

  has(id: string): boolean {
    return this.runs.has(id);
  }

  /** Whether `run` is still this worker's (not cancelled or reported since). */
  owns(run: Run): boolean {
    return this.runs.get(run.plan.id) === run;
  }

  ids(): string[] {
    return [...this.runs.keys()];
  }

  /** The runs as the web UI lists them. */
  infos(worker: string): RunningPlanInfo[] {
    return [...this.runs.values()].map((r) => ({
      id: r.plan.id,
      tenant: r.plan.tenant,
      kind: r.plan.kind,
      sources: r.plan.sources.map((b) => b.ulid),
      phase: r.progress?.phase,
      worker,
      startedMs: r.startedAt,
    }));
  }

  values(): IterableIterator<Run> {
    return this.runs.values();
  }

  /** A run taken out to be reported; `put` brings back one whose report may not have arrived. */
  take(run: Run): void {
    this.runs.delete(run.plan.id);
  }

  put(run: Run): void {
    this.runs.set(run.plan.id, run);
  }

  /**
   * Starts a plan the planner handed out. While stopping (it was asked for before stop()) it goes
   * straight back as abandoned.
   */
  start(plan: AssignedPlan, home: string, stopping: boolean): void {
    const run: Run = {
      plan,
      home,
      abort: new AbortController(),
      progress: undefined,
      sentPhase: undefined,
      result: undefined,
      abandoned: stopping,
      startedAt: (this.o.now ?? Date.now)(),
    };
    this.runs.set(plan.id, run);
    if (stopping) {
      run.result = ABANDONED('worker stopping');
      this.o.finished(run);
      return;
    }
    // One line per plan received, with its epoch and sources: what HA tests check for conflicts.
    this.o.log.info('plan started', {
      plan: plan.id,
      tenant: plan.tenant,
      epoch: plan.epoch,
      sources: plan.sources.map((b) => b.ulid).join(','),
    });
    void this.execute(run);
  }

  /** The planner no longer wants the plan: abort it and never report it. */
  cancel(id: string, reason: string): void {
    const r = this.runs.get(id);
    if (r === undefined) return;
    this.runs.delete(id);
    r.abort.abort(new Error(`cancelled by the planner: ${reason}`));
  }

  /** Aborts every unfinished run; they end as abandoned (re-queued by the planner at once). */
  abandonAll(): void {
    for (const r of this.runs.values()) {
      if (r.result !== undefined) continue;
      r.abandoned = true;
      r.abort.abort(new Error('worker stopping'));
    }
  }

  abortAll(why: string): void {
    for (const r of this.runs.values()) r.abort.abort(new Error(why));
  }

  private async execute(run: Run): Promise<void> {
    const { plan } = run;
    try {
      const res = await this.o.executor.execute(plan, {
        signal: run.abort.signal,
        onProgress: (p) => {
          run.progress = p;
          if (p.phase !== run.sentPhase) this.o.phaseChanged(run);
        },
      });
      run.result = { kind: 'complete', outputs: [...res.outputs] };
    } catch (err) {
      run.result = run.abandoned ? ABANDONED('abandoned: worker stopping') : this.failure(err, plan);
    }
    if (!this.owns(run)) return; // cancelled meanwhile: not ours to report
    this.o.finished(run);
  }

  private failure(err: unknown, plan: AssignedPlan): RunResult {
    let c: FailureClass;
    try {
      c = (this.o.classify ?? (() => ({ retryable: true })))(err, plan);
    } catch (classifyErr) {
      c = { retryable: true, reason: `${errorMessage(err)} (classify failed: ${errorMessage(classifyErr)})` };
    }
    return {
      kind: 'failed',
      reason: c.reason ?? errorMessage(err),
      retryable: c.retryable,
      failingBlock: c.failingBlock ?? '',
      noCompactReason: c.failingBlock !== undefined ? (c.noCompactReason ?? '') : '',
      code: c.code ?? '',
      abandoned: false,
    };
  }
}
