/**
 * Hides blocks too fresh to trust (Thanos ConsistencyDelayMetaFilter): while now − upload time is
 * below the delay, a block may still be mid-upload on an eventually consistent store or about to
 * be replaced. Upload time is thanos.upload_time when present and parsable, else the ULID time.
 * Blocks written by a compactor or a repair are never hidden: their writer uploaded meta.json last
 * and knows they are complete.
 */
import type { BlockMeta } from '../../../tsdb/meta.js';
import { ulidTime } from '../../../tsdb/ulid.js';
import type { FilterContext, MetaFilter } from '../types.js';
import { PackedMeta } from '../packed-meta.js';

export const NEVER_TOO_FRESH_SOURCES: ReadonlySet<string> = new Set([
  'compactor',
  'compactor.repair',
  'bucket.repair',
]);

export interface ConsistencyDelayFilterOptions {
  readonly delayMs: number;
}

/** ms since the epoch the block counts as uploaded at. */
export function blockUploadTimeMs(meta: BlockMeta): number {
  const packed = packedUploadTimeMs(meta);
  if (!Number.isNaN(packed)) return packed;
  const text = meta.thanos?.upload_time;
  const parsed = text ? Date.parse(text) : NaN;
  return Number.isFinite(parsed) ? parsed : ulidTime(meta.ulid);
}

/** A packed meta mostly keeps the upload time as milliseconds: no text built to be parsed. */
function packedUploadTimeMs(meta: BlockMeta): number {
  return meta instanceof PackedMeta ? meta.uploadTimeMs() : NaN;
}

const DAY_MS = 86_400_000;
const DATE_PREFIX = /^\d{4}-\d{2}-\d{2}T/;

/** text[0..10) < day (both ASCII), without allocating a slice per block. */
function datePrefixBefore(text: string, day: string): boolean {
  for (let i = 0; i < 10; i++) {
    const a = text.charCodeAt(i);
    const b = day.charCodeAt(i);
    if (a !== b) return a < b;
  }
  return false;
}

/** Whether `meta` counts as too fresh at `cutoff` (`oldDay`: the date two days before it). */
function isTooFresh(meta: BlockMeta, cutoff: number, oldDay: string): boolean {
  if (meta instanceof PackedMeta) {
    // Mostly decided from the row and its shape, without building the thanos section.
    if (NEVER_TOO_FRESH_SOURCES.has(meta.shape().source)) return false;
    const ms = meta.uploadTimeMs();
    if (!Number.isNaN(ms)) return ms > cutoff;
  }
  // Read once: a packed meta builds its thanos section on each access.
  const thanos = meta.thanos;
  if (NEVER_TOO_FRESH_SOURCES.has(thanos?.source ?? '')) return false;
  // Uploads dated two days before the cutoff are old whatever their UTC offset: comparing the
  // date prefix skips parsing a million timestamps every sync.
  const text = thanos?.upload_time;
  if (text !== undefined && datePrefixBefore(text, oldDay) && DATE_PREFIX.test(text)) return false;
  return blockUploadTimeMs(meta) > cutoff;
}

function cutoffOf(nowMs: number, delayMs: number): { cutoff: number; oldDay: string } {
  const cutoff = nowMs - delayMs;
  return { cutoff, oldDay: new Date(cutoff - 2 * DAY_MS).toISOString().slice(0, 10) };
}

export function consistencyDelayFilter(options: ConsistencyDelayFilterOptions): MetaFilter {
  const apply = (metas: ReadonlyMap<string, BlockMeta>, ctx: FilterContext, hidden?: Set<string>): void => {
    if (options.delayMs <= 0) return;
    const { cutoff, oldDay } = cutoffOf(ctx.nowMs, options.delayMs);
    // forEach: no [key, value] array per block, which a million-block sync would churn.
    metas.forEach((meta, id) => {
      if (!isTooFresh(meta, cutoff, oldDay)) return;
      hidden?.add(id);
      ctx.exclude(id, 'too-fresh');
    });
  };
  return {
    name: 'consistency-delay',
    apply: (metas, ctx) => apply(metas, ctx),
    incremental() {
      // A block old enough stays old enough while the clock moves forward: only the blocks hidden
      // last time and the new ones are looked at again.
      const hidden = new Set<string>();
      let lastNow = -Infinity;
      return {
        apply(metas, ctx) {
          hidden.clear();
          lastNow = ctx.nowMs;
          apply(metas, ctx, hidden);
        },
        update(metas, ctx, changes) {
          if (ctx.nowMs < lastNow || options.delayMs <= 0) return this.apply(metas, ctx);
          lastNow = ctx.nowMs;
          const { cutoff, oldDay } = cutoffOf(ctx.nowMs, options.delayMs);
          for (const id of changes.removed) hidden.delete(id);
          for (const id of changes.added) hidden.add(id);
          for (const id of hidden) {
            const m = metas.get(id);
            if (m === undefined || !isTooFresh(m, cutoff, oldDay)) hidden.delete(id);
            else ctx.exclude(id, 'too-fresh');
          }
        },
      };
    },
  };
}
