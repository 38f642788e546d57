/**
 * Hides blocks too fresh to trust (Thanos ConsistencyDelayMetaFilter): while now − upload time is
 * below the delay, a block may still be mid-upload on an eventually consistent store or about to
 * be replaced. Upload time is thanos.upload_time when present and parsable, else the ULID time.
 * Blocks written by a compactor or a repair are never hidden: their writer uploaded meta.json last
 * and knows they are complete.
 */
import type { BlockMeta } from '../../../tsdb/meta.js';
import { ulidTime } from '../../../tsdb/ulid.js';
import type { MetaFilter } from '../types.js';

export const NEVER_TOO_FRESH_SOURCES: ReadonlySet<string> = new Set([
  'compactor',
  'compactor.repair',
  'bucket.repair',
]);

export interface ConsistencyDelayFilterOptions {
  readonly delayMs: number;
}

const uploadTimes = new WeakMap<BlockMeta, number>();

/** ms since the epoch the block counts as uploaded at (cached per meta object). */
export function blockUploadTimeMs(meta: BlockMeta): number {
  const hit = uploadTimes.get(meta);
  if (hit !== undefined) return hit;
  const text = meta.thanos?.upload_time;
  const parsed = text ? Date.parse(text) : NaN;
  const t = Number.isFinite(parsed) ? parsed : ulidTime(meta.ulid);
  uploadTimes.set(meta, t);
  return t;
}

export function consistencyDelayFilter(options: ConsistencyDelayFilterOptions): MetaFilter {
  return {
    name: 'consistency-delay',
    apply(metas, ctx) {
      if (options.delayMs <= 0) return;
      for (const [id, meta] of metas) {
        if (NEVER_TOO_FRESH_SOURCES.has(meta.thanos?.source ?? '')) continue;
        if (ctx.nowMs - blockUploadTimeMs(meta) < options.delayMs) ctx.exclude(id, 'too-fresh');
      }
    },
  };
}
