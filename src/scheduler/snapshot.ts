/** The planner's plans and workers as the web UI shows them: read from the queue, leases and streams. */
import { queuedPlanInfo, type CompactionSnapshot } from '../compactor/activity.js';
import { isWholePlan, type LeaseTable } from './leases.js';
import type { PlanQueue } from './queue.js';
import type { Session } from './session.js';

export interface WorkerView {
  worker: string;
  capacity: number;
  stream: string;
  /** Plans it runs now. */
  running: number;
  lastSeenAt: number;
}

export function schedulerSnapshot(queue: PlanQueue, leases: LeaseTable): CompactionSnapshot {
  return {
    running: leases.all().map((l) => ({
      id: l.plan.id,
      tenant: l.plan.tenant,
      kind: isWholePlan(l.plan) ? l.plan.kind : undefined,
      sources: l.plan.sources.map((s) => s.ulid),
      phase: l.progress?.phase,
      worker: l.workerId,
      startedMs: l.grantedAt,
    })),
    queued: queue.pendingPlans().map(queuedPlanInfo),
    parked: leases.parked().map((p) => ({
      id: p.plan.id,
      tenant: p.plan.tenant,
      failures: p.failures,
      reason: p.reason,
      failingBlock: p.failingBlock,
      parkedMs: p.parkedAt,
    })),
  };
}

export function workerViews(sessions: Iterable<Session>, leases: LeaseTable): WorkerView[] {
  const out: WorkerView[] = [];
  for (const s of sessions) {
    if (!s.initialized) continue;
    out.push({
      worker: s.workerId ?? '',
      capacity: s.capacity,
      stream: s.id,
      running: leases.countFor(s.id),
      lastSeenAt: s.lastSeenAt,
    });
  }
  return out;
}

export interface RunningLeaseView {
  plan: string;
  tenant: string;
  worker: string;
  epoch: number;
  startedAt: number;
  phase: string | undefined;
}

export function runningLeaseViews(leases: LeaseTable): RunningLeaseView[] {
  return leases.all().map((l) => ({
    plan: l.plan.id,
    tenant: l.plan.tenant,
    worker: l.workerId,
    epoch: l.epoch,
    startedAt: l.grantedAt,
    phase: l.progress?.phase,
  }));
}
