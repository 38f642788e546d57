/**
 * Plain data in and out of the planner. Everything here is JSON-friendly so plans can cross the
 * planner → worker boundary unchanged.
 */
import type { BlockMeta } from '../tsdb/meta.js';
import type { DedupMode } from '../tsdb/samples/dedup.js';
import type { NoCompactReason } from '../tsdb/markers.js';

/** A block as the planner sees it: its meta.json plus what the caller derived from the bucket. */
export interface PlanBlock extends BlockMeta {
  /** Tenant prefix in the bucket; '' for the single-tenant Thanos layout. */
  readonly tenant: string;
  /** The block has a no-compact-mark.json (or the caller otherwise excludes it). */
  readonly noCompact: boolean;
  /**
   * Size of the block's index file, when the caller knows it better than meta.json
   * (`thanos.files[index].size_bytes`). Only used by the total index size limit.
   */
  readonly indexSizeBytes?: number;
}

/** Compactions merge blocks of a group; a downsample plan writes one block's coarser copy. */
export type PlanKind = 'vertical' | 'horizontal' | 'downsample';

export interface PlanOptions {
  /** Block ranges in ms, strictly ascending (normally each a multiple of the previous). Default [2h, 8h, 2d, 14d]. */
  readonly ranges?: readonly number[];
  /** External labels that only tell replicas apart; dropped for grouping. Default []. */
  readonly replicaLabels?: readonly string[];
  /** How overlapping blocks are merged. Default 'exact'; 'penalty' needs a replica label (as in Thanos). */
  readonly dedup?: DedupMode;
  /**
   * Default true. False: overlapping blocks are never merged; a group with overlaps is reported
   * as blocked until an operator acts (Thanos without vertical compaction halts instead).
   */
  readonly verticalCompaction?: boolean;
  /** Samples per re-encoded chunk the executor cuts at; 0 (default) means Prometheus' 120. */
  readonly maxSamplesPerChunk?: number;
  /**
   * Upper bound on the summed index sizes of one plan's sources (Thanos
   * `--debug.max-compaction-index-size` semantics, 15% headroom). Default 64 GiB; 0 disables.
   */
  readonly maxIndexSizeBytes?: number;
}

export interface ResolvedPlanOptions {
  readonly ranges: readonly number[];
  readonly replicaLabels: readonly string[];
  readonly dedup: DedupMode;
  readonly verticalCompaction: boolean;
  readonly maxSamplesPerChunk: number;
  readonly maxIndexSizeBytes: number;
}

/** Blocks that compact together: same tenant, resolution and external labels minus replica labels. */
export interface Group {
  readonly tenant: string;
  /** Thanos-compatible `<resolution>@<labels hash>`. */
  readonly key: string;
  readonly resolution: number;
  /** The group's external labels (replica labels removed): the labels of every output block. */
  readonly labels: Readonly<Record<string, string>>;
  /** `labels` printed like Prometheus, for logs: `{cluster="eu1", env="prod"}`. */
  readonly labelString: string;
  /** Sorted by minTime, then ULID. */
  readonly blocks: readonly PlanBlock[];
}

/** What a plan needs of a source block: enough to fetch it, order it and report its level. */
export interface PlanSource {
  readonly ulid: string;
  readonly minTime: number;
  readonly maxTime: number;
  readonly compaction: { readonly level: number };
}

/**
 * What decides whether two plans may run at once: the blocks a plan reads and the range of the
 * group it writes. Every plan is one; a plan a worker reports as running is only this.
 */
export interface PlanFootprint {
  readonly id: string;
  readonly tenant: string;
  readonly groupKey: string;
  readonly minTime: number;
  readonly maxTime: number;
  readonly sources: readonly { readonly ulid: string }[];
}

/** A half-open time range `[minTime, maxTime)`. */
export interface TimeWindow {
  readonly minTime: number;
  readonly maxTime: number;
}

/**
 * One compaction: what to merge and everything about how, so an executor anywhere (this process,
 * or a worker that received it over the wire as a `Plan<PlanSource>`) needs nothing else.
 */
export interface Plan<S extends PlanSource = PlanBlock> extends PlanFootprint {
  /** `<tenant>/<groupKey>/<hash of the sorted source ULIDs>`: equal inputs give equal ids. */
  readonly id: string;
  readonly resolution: number;
  /** External labels of the output block (group labels, replica labels removed). */
  readonly labels: Readonly<Record<string, string>>;
  /** Sorted by minTime, then ULID. */
  readonly sources: readonly S[];
  readonly kind: PlanKind;
  /** compaction.level of the output: max source level + 1. */
  readonly outputLevel: number;
  /** How overlapping samples are merged (only vertical plans have any). */
  readonly dedup: DedupMode;
  /** External labels that only tell replicas apart (penalty dedup groups inputs by the rest). */
  readonly replicaLabels: readonly string[];
  /** 0: the executor's default (120, as Prometheus). */
  readonly maxSamplesPerChunk: number;
  /**
   * What the choice of this plan depended on: the aligned range bucket a horizontal plan was
   * selected from (every block in it counted), or a vertical plan's own range. A block appearing
   * anywhere in it may change the choice. Set by the planner; plans decoded from the wire lack it.
   */
  readonly window?: TimeWindow;
}

/** A plan as it crosses the wire to a worker: sources by reference, not by their whole meta. */
export type ExecutablePlan = Plan<PlanSource>;

/** A block the planner wants marked no-compact (Thanos' planner filters write these marks). */
export interface NoCompactRequest {
  readonly tenant: string;
  readonly groupKey: string;
  readonly ulid: string;
  readonly reason: Extract<NoCompactReason, 'index-size-exceeding' | 'downsample-vertical-compaction'>;
  readonly details: string;
}

/** A group that cannot be planned until an operator acts. */
export interface BlockedGroup {
  readonly tenant: string;
  readonly groupKey: string;
  readonly labelString: string;
  readonly reason: 'overlap-without-vertical-compaction';
  /** ULIDs of the overlapping blocks. */
  readonly blocks: readonly string[];
}

/** What one group yields in one planning pass. */
export interface GroupPlanResult {
  readonly plans: readonly Plan[];
  readonly noCompact: readonly NoCompactRequest[];
  readonly blocked?: BlockedGroup;
}

export interface PlanAllResult {
  /** Plans that can all run at once: no shared block, no time overlap within a group. */
  readonly plans: readonly Plan[];
  /** Write these no-compact marks; the blocks were already left out of `plans`. */
  readonly noCompact: readonly NoCompactRequest[];
  readonly blocked: readonly BlockedGroup[];
  readonly groups: number;
}
