/**
 * Plain data the metadata fetcher returns and the contract its filters implement. Everything
 * keyed by block ULID; one TenantSync per tenant ('' for the single-tenant layout).
 */
import type { OperationCounts } from '../../objstore/instrumented.js';
import type { BlockMeta } from '../../tsdb/meta.js';
import type { DeletionMark, NoCompactMark } from '../../tsdb/markers.js';

/** Why a listed block is not returned as a block (Thanos' synced states, same names). */
export type PartialReason = 'no-meta-json' | 'corrupted-meta-json' | 'unsupported-meta-version';

/** States hidden or flagged by filters. */
export type FilterState =
  | 'marked-for-deletion'
  | 'too-fresh'
  | 'duplicate'
  | 'time-excluded'
  | 'label-excluded'
  | 'marked-for-no-compact';

/** Every state a block can be counted under in one sync (`strata_blocks_meta_synced{state}`). */
export type SyncState = 'loaded' | 'failed' | PartialReason | FilterState;

export const SYNC_STATES: readonly SyncState[] = [
  'loaded',
  'failed',
  'no-meta-json',
  'corrupted-meta-json',
  'unsupported-meta-version',
  'marked-for-deletion',
  'too-fresh',
  'duplicate',
  'time-excluded',
  'label-excluded',
  'marked-for-no-compact',
];

/** Bad input that is skipped, never fatal (`strata_blocks_meta_bad_input_total{kind}`). */
export type BadInputKind =
  | 'corrupted-meta-json'
  | 'unsupported-meta-version'
  | 'garbage-key'
  | 'bad-marker'
  | 'bad-bucket-index'
  | 'bad-checkpoint'
  | 'bad-cache-entry';

export const BAD_INPUT_KINDS: readonly BadInputKind[] = [
  'corrupted-meta-json',
  'unsupported-meta-version',
  'garbage-key',
  'bad-marker',
  'bad-bucket-index',
  'bad-checkpoint',
  'bad-cache-entry',
];

export type StateCounts = Record<SyncState, number>;
export type BadInputCounts = Record<BadInputKind, number>;

// Copied, not rebuilt from the key lists: made per tenant and sync.
const ZERO_STATE_COUNTS = Object.freeze(Object.fromEntries(SYNC_STATES.map((s) => [s, 0])) as StateCounts);
const ZERO_BAD_INPUT = Object.freeze(
  Object.fromEntries(BAD_INPUT_KINDS.map((s) => [s, 0])) as BadInputCounts,
);

export function zeroStateCounts(): StateCounts {
  return { ...ZERO_STATE_COUNTS };
}

export function zeroBadInputCounts(): BadInputCounts {
  return { ...ZERO_BAD_INPUT };
}

/** A ULID folder without a usable meta.json. */
export interface PartialBlock {
  readonly id: string;
  readonly reason: PartialReason;
  /** One line for logs; never the file content. */
  readonly detail: string;
  /** When this fetcher first saw it partial (ms), for cleanup age and re-check decisions. */
  readonly firstSeenMs: number;
}

/** How a tenant's block list was obtained in one sync. */
export type DiscoveryMode = 'tail' | 'full' | 'bucket-index';

export interface TenantSync {
  readonly tenant: string;
  /** Blocks that passed every filter. */
  readonly metas: ReadonlyMap<string, BlockMeta>;
  readonly partial: ReadonlyMap<string, PartialBlock>;
  /** Visible blocks with a no-compact mark (not hidden: the planner decides). */
  readonly noCompact: ReadonlySet<string>;
  /** Every parsable deletion mark of the tenant, hidden block or not. */
  readonly deletionMarks: ReadonlyMap<string, DeletionMark>;
  readonly noCompactMarks: ReadonlyMap<string, NoCompactMark>;
  /** Blocks a filter hid, with the first filter's state. */
  readonly excluded: ReadonlyMap<string, FilterState>;
  readonly counts: Readonly<StateCounts>;
  readonly badInput: Readonly<BadInputCounts>;
  readonly discovery: DiscoveryMode;
  /** Set when the tenant could not be listed: the blocks are those of the previous sync. */
  readonly error?: Error;
}

export interface SyncStats {
  readonly durationMs: number;
  /** Bucket calls made by this sync, by operation. */
  readonly requests: OperationCounts;
  /** meta.json files fetched from the bucket. */
  readonly metaReads: number;
  /** meta.json files found in the local cache instead. */
  readonly cacheHits: number;
  /** Known blocks dropped because they were deleted from the bucket. */
  readonly dropped: number;
  /** Bad input met by this sync, all tenants and the bucket's top level together. */
  readonly badInput: Readonly<BadInputCounts>;
}

export interface SyncResult {
  readonly tenants: ReadonlyMap<string, TenantSync>;
  readonly stats: SyncStats;
}

/** What a filter sees besides the metas: marks of the tenant and the time of the sync. */
export interface FilterContext {
  readonly tenant: string;
  readonly nowMs: number;
  readonly deletionMarks: ReadonlyMap<string, DeletionMark>;
  readonly noCompactMarks: ReadonlyMap<string, NoCompactMark>;
  /** Hides a block: removes it from the metas being filtered and counts it under `state`. */
  exclude(id: string, state: FilterState): void;
  /** Flags a visible block as not to be compacted (it stays in the metas). */
  flagNoCompact(id: string): void;
}

/** One filter step. Filters run in order on the same map; keep them synchronous and cheap. */
export interface MetaFilter {
  readonly name: string;
  apply(metas: ReadonlyMap<string, BlockMeta>, ctx: FilterContext): void;
  /**
   * Optional: a fresh per-tenant state that gives apply's answer from what changed since its
   * previous call (a warm sync then costs what changed, not what exists). Without it the filter
   * runs whole every sync.
   */
  incremental?(): IncrementalMetaFilter;
}

/** What changed in a filter's input (the blocks the filters before it left visible). */
export interface MetaFilterChanges {
  /** IDs in the input now that were not in the previous one. */
  readonly added: ReadonlySet<string>;
  /** IDs in the previous input that are not in this one. */
  readonly removed: ReadonlySet<string>;
  /** The meta of a removed ID (it may be gone from the input and the bucket). */
  metaOf(id: string): BlockMeta | undefined;
}

/**
 * A filter with memory. `update` must hide (through ctx.exclude, every call, not only the new
 * ones) exactly the blocks `apply` would hide on the same input and context.
 */
export interface IncrementalMetaFilter {
  apply(metas: ReadonlyMap<string, BlockMeta>, ctx: FilterContext): void;
  update(metas: ReadonlyMap<string, BlockMeta>, ctx: FilterContext, changes: MetaFilterChanges): void;
}
