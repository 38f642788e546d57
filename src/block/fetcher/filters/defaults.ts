/**
 * The compactor's filter chain, in Thanos' order: label selection, time range, consistency delay,
 * deletion marks, duplicates, then no-compact flags (after duplicates, so a hidden duplicate is
 * not flagged).
 */
import type { Matcher } from '../../../tsdb/index/matchers.js';
import type { MetaFilter } from '../types.js';
import { consistencyDelayFilter } from './consistency.js';
import { deletionMarkFilter } from './deletion.js';
import { duplicateFilter } from './duplicates.js';
import { labelMatcherFilter } from './labels.js';
import { noCompactFilter } from './no-compact.js';
import { timeRangeFilter } from './time-range.js';

export interface CompactorFilterOptions {
  /** Default 30 min (Thanos compactor). */
  readonly consistencyDelayMs?: number;
  /** Hide marked blocks after this (Thanos: delete-delay / 2; default 24 h). */
  readonly deletionMarkDelayMs?: number;
  readonly replicaLabels?: readonly string[];
  readonly selector?: readonly Matcher[];
  readonly minTime?: number;
  readonly maxTime?: number;
}

export function defaultCompactorFilters(o: CompactorFilterOptions = {}): MetaFilter[] {
  const out: MetaFilter[] = [];
  if (o.selector !== undefined && o.selector.length > 0) out.push(labelMatcherFilter(o.selector));
  if (o.minTime !== undefined || o.maxTime !== undefined) {
    out.push(
      timeRangeFilter({
        ...(o.minTime !== undefined ? { minTime: o.minTime } : {}),
        ...(o.maxTime !== undefined ? { maxTime: o.maxTime } : {}),
      }),
    );
  }
  out.push(consistencyDelayFilter({ delayMs: o.consistencyDelayMs ?? 30 * 60_000 }));
  out.push(deletionMarkFilter({ delayMs: o.deletionMarkDelayMs ?? 24 * 3600_000 }));
  out.push(duplicateFilter(o.replicaLabels !== undefined ? { replicaLabels: o.replicaLabels } : {}));
  out.push(noCompactFilter());
  return out;
}
