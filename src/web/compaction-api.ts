/**
 * `GET /api/v1/strata/compaction`: what runs, what is queued, the last passes, failures, parked
 * plans, the backlog over time and the behind verdict, from whichever process runs compactions
 * (strata compact, strata planner; strata worker lists only its own running plans).
 */
import type { CompactionActivity, CompactionSnapshot, QueuedPlanInfo } from '../compactor/activity.js';
import type { HttpEndpoint } from '../util/http.js';
import { iso, mountJson } from './json-api.js';
import type { UiPage } from './api-types.js';
import type { BacklogSeries, CompactionQueuedTenant, CompactionView } from './ops-types.js';

export const COMPACTION_PAGE: UiPage = { id: 'compaction', title: 'Compaction' };
export const COMPACTION_API = '/api/v1/strata/compaction';
/**
 * Queued plans listed per tenant: 100, fewer when many tenants have plans queued so one answer
 * lists about 500 (at least 10 each); the counts are always complete.
 */
export const QUEUED_SHOWN = 100;
const QUEUED_SHOWN_TOTAL = 500;
const QUEUED_SHOWN_MIN = 10;

export interface CompactionSource {
  readonly component: string;
  readonly now: () => number;
  snapshot(): CompactionSnapshot;
  /** Absent on a worker. */
  readonly activity?: CompactionActivity;
  /** Why this replica stands by (an HA follower), or undefined while it works. */
  readonly standby?: () => string | undefined;
}

function queuedByTenant(plans: readonly QueuedPlanInfo[]): CompactionQueuedTenant[] {
  const tenants = new Set(plans.map((p) => p.tenant)).size;
  const shown = Math.max(QUEUED_SHOWN_MIN, Math.min(QUEUED_SHOWN, Math.floor(QUEUED_SHOWN_TOTAL / tenants)));
  const by = new Map<string, CompactionQueuedTenant>();
  for (const p of plans) {
    let t = by.get(p.tenant);
    if (t === undefined) by.set(p.tenant, (t = { tenant: p.tenant, total: 0, plans: [] }));
    t.total++;
    if (t.plans.length < shown) {
      t.plans.push({
        plan: p.id,
        kind: p.kind,
        sources: [...p.sources],
        min_time: p.minTime,
        max_time: p.maxTime,
        resolution: p.resolution,
        output_level: p.outputLevel,
      });
    }
  }
  return [...by.values()].sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
}

function backlogSeries(a: CompactionActivity | undefined, now: number): BacklogSeries {
  const out: BacklogSeries = {
    t: [],
    todo_compactions: [],
    todo_compaction_blocks: [],
    todo_downsamples: [],
    todo_deletions: [],
  };
  for (const s of a?.backlog.samples(now) ?? []) {
    out.t.push(Math.round(s.atMs / 1000));
    out.todo_compactions.push(s.todoCompactions);
    out.todo_compaction_blocks.push(s.todoCompactionBlocks);
    out.todo_downsamples.push(s.todoDownsamples);
    out.todo_deletions.push(s.todoDeletions);
  }
  return out;
}

export function compactionView(src: CompactionSource): CompactionView {
  const now = src.now();
  const snap = src.snapshot();
  const a = src.activity;
  a?.setStandby(src.standby?.());
  const verdict = a?.verdict();
  return {
    component: src.component,
    now: iso(now),
    health:
      a === undefined || verdict === undefined
        ? null
        : {
            state: verdict.state,
            reasons: [...verdict.reasons],
            last_success_at: a.lastSuccessMs === undefined ? null : iso(a.lastSuccessMs),
            interval_ms: a.intervalMs,
            pass_running_since: a.passRunningSinceMs === undefined ? null : iso(a.passRunningSinceMs),
          },
    running: snap.running.map((r) => ({
      plan: r.id,
      tenant: r.tenant,
      kind: r.kind ?? null,
      sources: [...r.sources],
      phase: r.phase ?? null,
      worker: r.worker,
      started_at: iso(r.startedMs),
      elapsed_ms: Math.max(0, now - r.startedMs),
    })),
    queued: queuedByTenant(snap.queued),
    passes: (a?.passes.newestFirst() ?? []).map((p) => ({
      started_at: iso(p.startMs),
      duration_ms: Math.round(p.durationMs),
      outcome: p.outcome,
      plans_done: p.plansDone,
      plans_failed: p.plansFailed,
      error: p.error ?? null,
    })),
    failures: (a?.failures.newestFirst() ?? []).map((f) => ({
      at: iso(f.atMs),
      plan: f.plan,
      tenant: f.tenant,
      kind: f.kind,
      code: f.code,
      message: f.message,
    })),
    parked: snap.parked.map((p) => ({
      plan: p.id,
      tenant: p.tenant,
      failures: p.failures,
      reason: p.reason,
      failing_block: p.failingBlock ?? null,
      parked_at: iso(p.parkedMs),
    })),
    backlog: backlogSeries(a, now),
  };
}

export function mountCompactionApi(http: HttpEndpoint, src: CompactionSource): void {
  mountJson(http, COMPACTION_API, () => compactionView(src));
}
