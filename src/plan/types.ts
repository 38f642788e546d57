/**
 * Plain data in and out of the planner. Everything here is JSON-friendly so plans can cross the
 * planner → worker boundary unchanged.
 */
import type { BlockMeta } from '../tsdb/meta.js';

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

/**
 * How overlapping blocks are merged. 'exact': one sample per timestamp (Prometheus vertical
 * compaction); 'penalty': Thanos replica deduplication; 'none': vertical compaction disabled, so a
 * group with overlapping blocks is reported as blocked instead of planned.
 */
export type DedupMode = 'exact' | 'penalty' | 'none';

export type PlanKind = 'vertical' | 'horizontal';

export interface PlanOptions {
  /** Block ranges in ms, strictly ascending (normally each a multiple of the previous). Default [2h, 8h, 2d, 14d]. */
  readonly ranges?: readonly number[];
  /** External labels that only tell replicas apart; dropped for grouping. Default []. */
  readonly replicaLabels?: readonly string[];
  /** Default 'exact'. 'penalty' needs at least one replica label (as in Thanos). */
  readonly dedup?: DedupMode;
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

export interface Plan {
  /** `<tenant>/<groupKey>/<hash of the sorted source ULIDs>`: equal inputs give equal ids. */
  readonly id: string;
  readonly tenant: string;
  readonly groupKey: string;
  readonly resolution: number;
  /** External labels of the output block (group labels, replica labels removed). */
  readonly labels: Readonly<Record<string, string>>;
  /** Sorted by minTime, then ULID. */
  readonly sources: readonly PlanBlock[];
  readonly minTime: number;
  readonly maxTime: number;
  readonly kind: PlanKind;
  /** compaction.level of the output: max source level + 1. */
  readonly outputLevel: number;
  /** How to merge overlapping samples; 'none' for horizontal plans (nothing overlaps). */
  readonly dedup: DedupMode;
}

/** A block whose sources are all contained in another block of its group. */
export interface DuplicateBlock {
  readonly tenant: string;
  readonly groupKey: string;
  readonly block: PlanBlock;
  /** ULID of the block that already holds all of its data. */
  readonly coveredBy: string;
}

export type NoCompactReason = 'index-size-exceeding' | 'downsample-vertical-compaction';

/** A block the planner wants marked no-compact (Thanos' planner filters write these marks). */
export interface NoCompactRequest {
  readonly tenant: string;
  readonly groupKey: string;
  readonly ulid: string;
  readonly reason: NoCompactReason;
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
  /** Mark these for deletion; they were not planned. */
  readonly duplicates: readonly DuplicateBlock[];
  /** Write these no-compact marks; the blocks were already left out of `plans`. */
  readonly noCompact: readonly NoCompactRequest[];
  readonly blocked: readonly BlockedGroup[];
  readonly groups: number;
}
