/** The planner service's hooks (metrics, the web UI's activity record, benchmarks). */
import type { Code } from '@connectrpc/connect';
import type { Plan, PlanFootprint } from '../plan/types.js';
import type { FailureOutcome } from './leases.js';

export type RequeueReason = 'lease-expired' | 'stream-closed' | 'abandoned' | 'failed';

/** Hooks for metrics and benchmarks; all optional and synchronous. */
export interface SchedulerEvents {
  planned?(e: { plans: number; added: number; removed: number; durationMs: number }): void;
  assigned?(e: { plan: Plan; workerId: string; epoch: number; waitMs: number }): void;
  completed?(e: {
    plan: PlanFootprint;
    workerId: string;
    outputs: readonly string[];
    olderEpoch: boolean;
  }): void;
  failed?(e: {
    plan: PlanFootprint;
    workerId: string;
    outcome: FailureOutcome;
    /** The worker's error code and reason. */
    code: string;
    reason: string;
  }): void;
  requeued?(e: { plan: Plan; reason: RequeueReason }): void;
  rejected?(e: { workerId: string | undefined; code: Code; message: string }): void;
}
