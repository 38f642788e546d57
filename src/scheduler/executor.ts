/**
 * The worker's PlanExecutor: a plan received from the planner, executed exactly as `strata compact`
 * executes it (compactor/execute.ts), and the classification of its failures for the planner (the
 * same classification `strata compact` acts on, so both modes mark a bad block alike).
 */
import type { Bucket } from '../objstore/bucket.js';
import { executePlan, isPhase, type ExecuteDeps, type StepHook } from '../compactor/execute.js';
import { classifyFailure } from '../compactor/failures.js';
import type { Logger } from '../util/logger.js';
import type { UlidSource } from '../tsdb/ulid.js';
import type { AssignedPlan } from './codec.js';
import type { ExecuteContext, ExecuteResult, FailureClass, PlanExecutor } from './worker-runs.js';

export interface BucketExecutorDeps {
  readonly bucket: Bucket;
  /** Scratch space: each plan downloads into and writes under `<dataDir>/compact/<plan>`. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly now: () => number;
  readonly ulids?: UlidSource;
  /** Called at the start of every step of a plan (observers; the crash tests kill there). */
  readonly beforeStep?: StepHook;
  /** Runs the compaction (default: on the calling thread; see compactor/compact-threads.ts). */
  readonly compact?: ExecuteDeps['compact'];
  /** Called after every plan with its outcome (metrics). */
  readonly onDone?: (plan: AssignedPlan, ok: boolean, durationMs: number) => void;
}

export function bucketPlanExecutor(d: BucketExecutorDeps): PlanExecutor {
  return {
    async execute(plan: AssignedPlan, ctx: ExecuteContext): Promise<ExecuteResult> {
      const t = performance.now();
      let ok = false;
      // bytesTotal: the sources' sizes are not on the wire; report bytes per phase as they finish.
      let done = 0;
      try {
        const res = await executePlan(plan, {
          bucket: d.bucket,
          dataDir: d.dataDir,
          logger: d.logger,
          now: d.now,
          signal: ctx.signal,
          ...(d.ulids ? { ulids: d.ulids } : {}),
          ...(d.compact ? { compact: d.compact } : {}),
          beforeStep: async (step, planId) => {
            if (isPhase(step)) ctx.onProgress({ phase: step, bytesDone: done, bytesTotal: 0 });
            await d.beforeStep?.(step, planId);
          },
          onPhase: (_p, bytes) => {
            done += bytes;
          },
        });
        ok = true;
        return { outputs: res.output === undefined ? [] : [res.output] };
      } finally {
        d.onDone?.(plan, ok, performance.now() - t);
      }
    },
  };
}

/** What a failed plan means to the planner (decided by error codes, never messages). */
export function classifyPlanFailure(err: unknown): FailureClass {
  const f = classifyFailure(err);
  switch (f.kind) {
    case 'bad-block':
      return {
        retryable: false,
        failingBlock: f.block,
        noCompactReason: f.reason,
        code: f.code,
        reason: f.details,
      };
    case 'transient':
    case 'failed':
      return { retryable: true, code: f.code, reason: f.details };
  }
}
