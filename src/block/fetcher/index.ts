/** The block metadata fetcher: sync, filters, checkpoints. */
export {
  MetaFetcher,
  DEFAULT_FETCHER_CONCURRENCY,
  CHECKPOINT_FILENAME,
  META_CACHE_DIRNAME,
  type MetaFetcherDeps,
  type MetaFetcherOptions,
  type SyncOptions,
} from './fetcher.js';
export {
  SYNC_STATES,
  BAD_INPUT_KINDS,
  type BadInputCounts,
  type BadInputKind,
  type DiscoveryMode,
  type FilterContext,
  type FilterState,
  type MetaFilter,
  type PartialBlock,
  type PartialReason,
  type StateCounts,
  type SyncResult,
  type SyncState,
  type SyncStats,
  type TenantSync,
} from './types.js';
export { Watermark } from './watermark.js';
export {
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpointFile,
  writeCheckpointFile,
  CheckpointError,
  KnownIds,
  type Checkpoint,
  type LoadedCheckpoint,
  type TenantCheckpoint,
} from './checkpoint.js';
export { applyFilters, type FilterInput, type FilterOutput } from './filters/apply.js';
export { consistencyDelayFilter, blockUploadTimeMs, NEVER_TOO_FRESH_SOURCES } from './filters/consistency.js';
export { deletionMarkFilter } from './filters/deletion.js';
export { duplicateFilter } from './filters/duplicates.js';
export { labelMatcherFilter } from './filters/labels.js';
export { noCompactFilter } from './filters/no-compact.js';
export { timeRangeFilter } from './filters/time-range.js';
export { defaultCompactorFilters, type CompactorFilterOptions } from './filters/defaults.js';
export {
  METAS_FILENAME,
  MetasFileError,
  readMetasFile,
  rewriteMetasFile,
  appendMetas,
  type LoadedMetas,
} from './metas-file.js';
export { encodeFrame } from './metas-codec.js';
export { decodeFrame } from './metas-decode.js';
