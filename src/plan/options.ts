/** Planner options: defaults (Thanos' compactor defaults) and validation. */
import { InvalidArgumentError } from '../util/errors.js';
import type { DedupMode } from '../tsdb/samples/dedup.js';
import type { PlanOptions, ResolvedPlanOptions } from './types.js';

const HOUR_MS = 3_600_000;

/** Thanos' default block ranges: 2h, 8h, 2d, 14d. */
export const DEFAULT_RANGES: readonly number[] = [2 * HOUR_MS, 8 * HOUR_MS, 48 * HOUR_MS, 336 * HOUR_MS];

/** Thanos' default `--debug.max-compaction-index-size`: 64 GiB. */
export const DEFAULT_MAX_INDEX_SIZE_BYTES = 64 * 1024 ** 3;

const DEDUP_MODES: readonly DedupMode[] = ['exact', 'penalty'];

/** Fills defaults and rejects inconsistent options with an InvalidArgumentError. */
export function resolvePlanOptions(options: PlanOptions = {}): ResolvedPlanOptions {
  const ranges = options.ranges ?? DEFAULT_RANGES;
  if (ranges.length === 0) throw new InvalidArgumentError('at least one block range is required');
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    if (!Number.isSafeInteger(r) || r <= 0)
      throw new InvalidArgumentError(`block range ${r} is not a positive integer (ms)`);
    if (i > 0 && r <= ranges[i - 1]!) {
      throw new InvalidArgumentError(`block ranges must be strictly ascending, got ${ranges.join(', ')}`);
    }
  }
  const replicaLabels = options.replicaLabels ?? [];
  if (replicaLabels.some((l) => l === '')) throw new InvalidArgumentError('empty replica label name');
  const dedup = options.dedup ?? 'exact';
  if (!DEDUP_MODES.includes(dedup)) throw new InvalidArgumentError(`unknown dedup mode "${String(dedup)}"`);
  if (dedup === 'penalty' && replicaLabels.length === 0) {
    throw new InvalidArgumentError('penalty deduplication needs at least one replica label');
  }
  const maxIndexSizeBytes = options.maxIndexSizeBytes ?? DEFAULT_MAX_INDEX_SIZE_BYTES;
  if (!Number.isFinite(maxIndexSizeBytes) || maxIndexSizeBytes < 0) {
    throw new InvalidArgumentError(`maxIndexSizeBytes must be >= 0, got ${maxIndexSizeBytes}`);
  }
  const maxSamplesPerChunk = options.maxSamplesPerChunk ?? 0;
  if (!Number.isSafeInteger(maxSamplesPerChunk) || maxSamplesPerChunk < 0) {
    throw new InvalidArgumentError(`maxSamplesPerChunk must be an integer >= 0, got ${maxSamplesPerChunk}`);
  }
  return {
    ranges: [...ranges],
    replicaLabels: [...replicaLabels],
    dedup,
    verticalCompaction: options.verticalCompaction ?? true,
    maxSamplesPerChunk,
    maxIndexSizeBytes,
  };
}
