/**
 * The worker's PlanExecutor: a plan received from the planner, executed with the compactor's
 * executePlan (download → compact → upload, meta.json last → mark the sources for deletion), and
 * the classification of its failures for the planner (a bad source block is not retried; the
 * planner parks the plan and marks that block no-compact).
 */
import type { Bucket } from '../objstore/bucket.js';
import { SINGLE_TENANT, layoutFor } from '../block/layout.js';
import { executePlan, type Phase } from '../compactor/execute.js';
import { classifyFailure } from '../compactor/failures.js';
import type { PassStep } from '../compactor/debug.js';
import type { Logger } from '../util/logger.js';
import type { UlidSource } from '../tsdb/ulid.js';
import type { AssignedPlan } from './codec.js';
import type { ExecuteContext, ExecuteResult, FailureClass, PlanExecutor } from './worker.js';

export interface BucketExecutorDeps {
  readonly bucket: Bucket;
  /** Scratch space: each plan downloads into and writes under `<dataDir>/compact/<plan>`. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly now: () => number;
  readonly ulids?: UlidSource;
  /** Test/debug hook at the start of every phase (see compactor/debug.ts). */
  readonly beforeStep?: (step: PassStep) => Promise<void> | void;
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
        const res = await executePlan(
          {
            id: plan.id,
            tenant: plan.tenant,
            sources: plan.sources,
            dedup: plan.output.dedup,
            labels: plan.output.labels,
          },
          {
            bucket: d.bucket,
            // The plan says which layout: Thanos' single tenant is '', a Cortex/Mimir tenant never is.
            layout: layoutFor(plan.tenant === SINGLE_TENANT ? 'single' : 'multi'),
            dataDir: d.dataDir,
            logger: d.logger,
            now: d.now,
            replicaLabels: plan.output.replicaLabels,
            signal: ctx.signal,
            ...(d.ulids ? { ulids: d.ulids } : {}),
            ...(plan.output.maxSamplesPerChunk > 0
              ? { maxSamplesPerChunk: plan.output.maxSamplesPerChunk }
              : {}),
            beforePhase: async (p: Phase) => {
              ctx.onProgress({ phase: p, bytesDone: done, bytesTotal: 0 });
              await d.beforeStep?.(p);
            },
            onPhase: (_p, bytes) => {
              done += bytes;
            },
            ...(d.beforeStep
              ? {
                  afterUploadFile: (): void => {
                    void d.beforeStep?.('uploaded');
                  },
                }
              : {}),
          },
        );
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
      return { retryable: false, failingBlock: f.block, reason: `${f.reason}: ${f.details}` };
    case 'transient':
      return { retryable: true, reason: f.details };
    case 'failed':
      return { retryable: true, reason: f.details };
  }
}
