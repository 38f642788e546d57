/**
 * Hides blocks whose deletion mark is older than `delayMs` (Thanos IgnoreDeletionMarkFilter). The
 * delay keeps a freshly marked block visible until the block replacing it has been seen by every
 * reader. Marks come from the tenant `markers/` listing, not one request per block.
 */
import type { MetaFilter } from '../types.js';

export interface DeletionMarkFilterOptions {
  /** Hide a block once now − deletion_time exceeds this (ms). 0 hides every marked block. */
  readonly delayMs: number;
}

export function deletionMarkFilter(options: DeletionMarkFilterOptions): MetaFilter {
  return {
    name: 'deletion-mark',
    apply(metas, ctx) {
      for (const [id, mark] of ctx.deletionMarks) {
        if (!metas.has(id)) continue;
        if (ctx.nowMs - mark.deletionTime * 1000 > options.delayMs) ctx.exclude(id, 'marked-for-deletion');
      }
    },
  };
}
