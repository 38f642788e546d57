/** `GET /api/v1/strata/planner`: leadership and the connected workers with their capacity and load. */
import type { SchedulerStats } from '../scheduler/service.js';
import type { WorkerView } from '../scheduler/snapshot.js';
import type { HttpEndpoint } from '../util/http.js';
import type { UiPage } from './api-types.js';
import { iso, mountJson } from './json-api.js';
import type { PlannerView } from './ops-types.js';

export const PLANNER_PAGE: UiPage = { id: 'planner', title: 'Planner' };
export const PLANNER_API = '/api/v1/strata/planner';

export interface PlannerState {
  readonly stats: SchedulerStats;
  readonly workers: readonly WorkerView[];
  /** Leading: the service's term and this replica's election agree. */
  readonly leader: boolean;
  readonly address: string;
  readonly leaderAddress: string | undefined;
  readonly ringPage: string | undefined;
}

export function plannerView(s: PlannerState, now: number): PlannerView {
  return {
    leader: s.leader,
    epoch: s.stats.epoch ?? null,
    address: s.address,
    leader_address: s.leaderAddress ?? null,
    in_grace: s.stats.inGrace,
    sharded: s.ringPage !== undefined,
    ring_page: s.ringPage ?? null,
    pending: s.stats.pending,
    running: s.stats.running,
    parked: s.stats.parked,
    workers: s.workers.map((w) => ({
      worker: w.worker,
      capacity: w.capacity,
      running: w.running,
      stream: w.stream,
      last_seen: iso(w.lastSeenAt),
      last_seen_ago_ms: Math.max(0, now - w.lastSeenAt),
    })),
  };
}

export function mountPlannerApi(http: HttpEndpoint, state: () => PlannerState, now: () => number): void {
  mountJson(http, PLANNER_API, () => plannerView(state(), now()));
}
