/**
 * The JSON of the compaction, planner and query pages (`/api/v1/strata/compaction`,
 * `/api/v1/strata/planner`, `/api/v1/strata/endpoints`), shared by the server side (src/web) and
 * the browser code. Types only: the browser build compiles this file too. Times are RFC 3339
 * strings, except block and backlog times (ms and s since the epoch, as in meta.json and uPlot).
 */

/** standby: an HA replica that does not lead (another one compacts). */
export type HealthState = 'ok' | 'behind' | 'halted' | 'standby';

export interface CompactionRunning {
  plan: string;
  tenant: string;
  /** vertical, horizontal, downsample; null when only the plan's footprint is known. */
  kind: string | null;
  sources: string[];
  /** download, compact, upload, mark, cleanup; queued before the first; null before a worker reported one. */
  phase: string | null;
  /** The worker running it (planner), or `local` (strata compact). */
  worker: string;
  started_at: string;
  elapsed_ms: number;
}

export interface CompactionQueued {
  plan: string;
  kind: string;
  sources: string[];
  /** The plan's time range, ms. */
  min_time: number;
  max_time: number;
  resolution: number;
  output_level: number;
}

export interface CompactionQueuedTenant {
  tenant: string;
  /** Plans queued for the tenant; `plans` lists the first 100 (fewer with over 5 tenants queued: about 500 in all, at least 10 each). */
  total: number;
  plans: CompactionQueued[];
}

export interface CompactionPass {
  started_at: string;
  duration_ms: number;
  outcome: 'ok' | 'failed' | 'aborted';
  plans_done: number;
  plans_failed: number;
  error: string | null;
}

export interface CompactionFailure {
  at: string;
  plan: string;
  tenant: string;
  /** strata compact: bad-block, transient, failed; planner: retry or parked. */
  kind: string;
  code: string;
  message: string;
}

export interface CompactionParked {
  plan: string;
  tenant: string;
  failures: number;
  reason: string;
  failing_block: string | null;
  parked_at: string;
}

/** Column arrays (uPlot's data layout): `t` in seconds; todo_deletions null where not tracked. */
export interface BacklogSeries {
  t: number[];
  todo_compactions: number[];
  todo_compaction_blocks: number[];
  todo_downsamples: number[];
  todo_deletions: (number | null)[];
}

export interface CompactionHealth {
  state: HealthState;
  reasons: string[];
  last_success_at: string | null;
  /** How often a pass is due (--wait-interval, --planner.replan-interval). */
  interval_ms: number;
  pass_running_since: string | null;
}

/** `GET /api/v1/strata/compaction`. */
export interface CompactionView {
  component: string;
  now: string;
  /** null on a worker (it runs plans, it does not plan passes). */
  health: CompactionHealth | null;
  running: CompactionRunning[];
  queued: CompactionQueuedTenant[];
  /** Newest first. */
  passes: CompactionPass[];
  failures: CompactionFailure[];
  parked: CompactionParked[];
  backlog: BacklogSeries;
}

export interface PlannerWorker {
  worker: string;
  capacity: number;
  /** Plans it runs now. */
  running: number;
  stream: string;
  last_seen: string;
  last_seen_ago_ms: number;
}

/** `GET /api/v1/strata/planner`. */
export interface PlannerView {
  leader: boolean;
  epoch: number | null;
  /** This planner's published gRPC address. */
  address: string;
  leader_address: string | null;
  in_grace: boolean;
  sharded: boolean;
  /** The ring page, relative to the UI, when sharded. */
  ring_page: string | null;
  pending: number;
  running: number;
  parked: number;
  workers: PlannerWorker[];
}

export interface EndpointLatency {
  /** Info round trips: the last one, and p50/p99 of the last 100. */
  info_last_ms: number | null;
  info_p50_ms: number | null;
  info_p99_ms: number | null;
  info_samples: number;
  /** Moving average of every successful call (Info and Series). */
  ewma_ms: number | null;
}

export interface EndpointMember {
  address: string;
  healthy: boolean;
  consecutive_failures: number;
  last_error: string | null;
  last_check: string | null;
  latency: EndpointLatency;
  component_type: string | null;
  peer_type: string | null;
  min_time: number | null;
  max_time: number | null;
  label_sets: Record<string, string>[];
}

export interface EndpointGroup {
  /** The grouping key: kind, store_group_id and the sorted external label sets. */
  key: string;
  name: string;
  /** replica (any member answers) or source (every member is asked). */
  kind: string;
  group_id: string;
  label_sets: Record<string, string>[];
  healthy: number;
  min_time: number;
  max_time: number;
  members: EndpointMember[];
}

/** `GET /api/v1/strata/endpoints`. */
export interface EndpointsView {
  ready: boolean;
  groups: EndpointGroup[];
  /** Endpoints whose Info never answered: in no group yet. */
  unreachable: EndpointMember[];
}
