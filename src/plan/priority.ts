/** Ordering and conflict helpers for whoever queues plans. */
import { compareStrings } from '../tsdb/labels.js';
import type { Plan, PlanFootprint } from './types.js';

/**
 * Lower output level first (small compactions unblock the bigger ones above them), then older
 * data first, then plan id so the order is total and deterministic.
 */
export function compareForPriority(a: Plan, b: Plan): number {
  return a.outputLevel - b.outputLevel || a.minTime - b.minTime || compareStrings(a.id, b.id);
}

/**
 * True when two plans must not run at the same time: they share a source block, or they belong
 * to one group and their outputs would overlap (forcing another vertical compaction). Plans of one
 * planAll call never conflict; plans of different calls can (a late block joined a bucket).
 */
export function plansConflict(a: PlanFootprint, b: PlanFootprint): boolean {
  if (a.tenant !== b.tenant) return false;
  if (a.groupKey === b.groupKey && a.minTime < b.maxTime && b.minTime < a.maxTime) return true;
  const ids = new Set(a.sources.map((s) => s.ulid));
  return b.sources.some((s) => ids.has(s.ulid));
}
