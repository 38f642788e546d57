/**
 * The planner's Prometheus metrics: leadership, the queue per tenant, running plans per worker,
 * plan wait and run times, outcomes. Gauges are read from the service at scrape time; the rest is
 * counted through the service's events.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { Code } from '@connectrpc/connect';
import type { PlannerService, SchedulerEvents } from './service.js';

const TIME_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600];

/** Registers the metrics; returns the events to pass to the service (wire `service` later). */
export function plannerMetrics(registry: Registry): {
  events: SchedulerEvents;
  attach: (service: PlannerService) => void;
} {
  const registers = [registry];
  let service: PlannerService | undefined;
  const assignedAt = new Map<string, number>();

  new Gauge({
    name: 'strata_planner_leader',
    help: '1 while this planner leads (and hands out plans), else 0.',
    registers,
    collect() {
      this.set(service?.stats().leader === true ? 1 : 0);
    },
  });
  new Gauge({
    name: 'strata_planner_epoch',
    help: 'Leadership epoch of the current term (0 when not leading).',
    registers,
    collect() {
      this.set(service?.stats().epoch ?? 0);
    },
  });
  new Gauge({
    name: 'strata_planner_queue_plans',
    help: 'Plans waiting in the queue, per tenant.',
    labelNames: ['tenant'],
    registers,
    collect() {
      this.reset();
      for (const t of service?.tenantCounts() ?? []) this.set({ tenant: t.tenant }, t.pending);
    },
  });
  new Gauge({
    name: 'strata_planner_running_plans',
    help: 'Plans running, per worker.',
    labelNames: ['worker'],
    registers,
    collect() {
      this.reset();
      const byWorker = new Map<string, number>();
      for (const w of service?.workers() ?? []) byWorker.set(w.worker, 0);
      for (const r of service?.runningPlans() ?? [])
        byWorker.set(r.worker, (byWorker.get(r.worker) ?? 0) + 1);
      for (const [worker, n] of byWorker) this.set({ worker }, n);
    },
  });
  new Gauge({
    name: 'strata_planner_parked_plans',
    help: 'Plans parked after failing too often.',
    registers,
    collect() {
      this.set(service?.stats().parked ?? 0);
    },
  });
  const wait = new Histogram({
    name: 'strata_planner_plan_wait_seconds',
    help: 'Time from a plan entering the queue to a worker receiving it.',
    buckets: TIME_BUCKETS,
    registers,
  });
  const run = new Histogram({
    name: 'strata_planner_plan_run_seconds',
    help: 'Time from handing a plan out to its COMPLETE or FAILED.',
    labelNames: ['outcome'],
    buckets: TIME_BUCKETS,
    registers,
  });
  const planning = new Histogram({
    name: 'strata_planner_planning_duration_seconds',
    help: 'Duration of a planning pass (sync and plan).',
    buckets: [0.01, 0.1, 0.5, 1, 2, 5, 15, 60, 300],
    registers,
  });
  const plans = new Counter({
    name: 'strata_planner_plans_total',
    help: 'Plans by event: assigned, completed, failed, parked, requeued.',
    labelNames: ['event'],
    registers,
  });
  const rejected = new Counter({
    name: 'strata_planner_rejected_streams_total',
    help: 'Worker streams ended with an error status, by gRPC code.',
    labelNames: ['code'],
    registers,
  });

  const finished = (planId: string, outcome: string): void => {
    const at = assignedAt.get(planId);
    if (at === undefined) return;
    assignedAt.delete(planId);
    run.observe({ outcome }, (Date.now() - at) / 1000);
  };
  const events: SchedulerEvents = {
    planned: (e) => planning.observe(e.durationMs / 1000),
    assigned: (e) => {
      plans.inc({ event: 'assigned' });
      wait.observe(e.waitMs / 1000);
      assignedAt.set(e.plan.id, Date.now());
    },
    completed: (e) => {
      plans.inc({ event: 'completed' });
      finished(e.plan.id, 'completed');
    },
    failed: (e) => {
      plans.inc({ event: e.outcome.action === 'park' ? 'parked' : 'failed' });
      finished(e.plan.id, 'failed');
    },
    requeued: (e) => {
      plans.inc({ event: 'requeued' });
      assignedAt.delete(e.plan.id);
    },
    rejected: (e) => rejected.inc({ code: Code[e.code] ?? String(e.code) }),
  };
  return {
    events,
    attach: (s) => {
      service = s;
    },
  };
}
