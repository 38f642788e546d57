/**
 * Keeps every tenant's bucket index current without rewriting it when nothing changed. A tenant's
 * index is rebuilt (bucket scan, see buildBucketIndex) and written when:
 * - its content would change: the blocks and deletion marks the latest sync saw differ from those
 *   of the index last written or read, or the caller says the bucket changed after that sync (the
 *   cleaner deleted blocks);
 * - it is getting old: Cortex and Mimir queriers refuse an index whose updated_at is older than
 *   `-blocks-storage.bucket-store.bucket-index.max-stale-period` (1h by default), so an unchanged
 *   index is still rewritten once it is `refreshMs` old (default 15 min: a quarter of that
 *   period, and Mimir's `-compactor.cleanup-interval` default, so a pass or two may fail without
 *   a querier ever seeing a stale index).
 * The first pass of a process compares with the index in the bucket (one GET per tenant), so a
 * restart does not rewrite indexes either. The comparison is a 64-bit fingerprint per side
 * (O(blocks) hashing in memory, O(1) memory per tenant): a collision can only delay a rewrite
 * until the index is `refreshMs` old.
 */
import type { Bucket } from '../objstore/bucket.js';
import type { Logger } from '../util/logger.js';
import {
  BucketIndexError,
  buildBucketIndex,
  readBucketIndex,
  writeBucketIndex,
  type BucketIndex,
} from './bucket-index.js';
import type { TenantSync } from './fetcher/types.js';
import type { Layout } from './layout.js';

/** A quarter of Cortex/Mimir's default max-stale-period (1h). */
export const DEFAULT_INDEX_REFRESH_MS = 15 * 60_000;

export interface BucketIndexKeeperOptions {
  /** Rewrite an unchanged index once its updated_at is this old (ms). */
  readonly refreshMs?: number;
  /** Parallel GETs of a rebuild (default 16). */
  readonly concurrency?: number;
  readonly logger?: Logger;
}

export type IndexUpdate = 'written' | 'unchanged';

interface Known {
  /** Fingerprint of the index content last written or read. */
  readonly index: string;
  /** Fingerprint of the sync view the last write was made after (undefined: read, not written). */
  readonly view: string | undefined;
  readonly updatedAtMs: number;
}

/** Order-independent 64-bit set fingerprint: two 32-bit sums of independent hashes, plus the count. */
class SetHash {
  private a = 0;
  private b = 0;
  private n = 0;

  add(s: string): void {
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    this.a = (this.a + fmix(h1)) >>> 0;
    this.b = (this.b + fmix(h2 ^ s.length)) >>> 0;
    this.n++;
  }

  toString(): string {
    return `${this.n}.${this.a.toString(36)}.${this.b.toString(36)}`;
  }
}

/** Murmur3's finaliser. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The index content that matters for a rewrite: block IDs and deletion marks (ID and time). */
export function indexFingerprint(idx: Pick<BucketIndex, 'blocks' | 'blockDeletionMarks'>): string {
  const blocks = new SetHash();
  for (const b of idx.blocks) blocks.add(b.blockId);
  const marks = new SetHash();
  for (const m of idx.blockDeletionMarks) marks.add(`${m.blockId}:${m.deletionTime}`);
  return `${blocks.toString()}/${marks.toString()}`;
}

/**
 * The same fingerprint from what a sync saw: every complete block (visible or hidden by a
 * filter), and the deletion marks of block folders that exist (an index lists those only).
 */
export function syncFingerprint(t: TenantSync): string {
  const blocks = new SetHash();
  for (const id of t.metas.keys()) blocks.add(id);
  for (const id of t.excluded.keys()) blocks.add(id);
  const marks = new SetHash();
  for (const [id, m] of t.deletionMarks) {
    if (t.metas.has(id) || t.excluded.has(id) || t.partial.has(id)) marks.add(`${id}:${m.deletionTime}`);
  }
  return `${blocks.toString()}/${marks.toString()}`;
}

export class BucketIndexKeeper {
  private readonly known = new Map<string, Known>();
  private readonly refreshMs: number;
  /** Indexes written by this keeper (tests and logs). */
  writes = 0;

  constructor(
    private readonly bucket: Bucket,
    private readonly layout: Layout,
    private readonly o: BucketIndexKeeperOptions = {},
  ) {
    this.refreshMs = o.refreshMs ?? DEFAULT_INDEX_REFRESH_MS;
  }

  /**
   * Brings the tenant's index up to date with `t` (the latest sync of the tenant). `changed`:
   * the bucket changed after that sync (blocks deleted), so the sync cannot vouch for the index.
   */
  async update(t: TenantSync, nowMs: number, changed = false): Promise<IndexUpdate> {
    const tenant = t.tenant;
    const view = syncFingerprint(t);
    let known = this.known.get(tenant);
    let old: BucketIndex | undefined;
    if (known === undefined) {
      try {
        old = await readBucketIndex(this.bucket, this.layout, tenant);
      } catch (err) {
        if (!(err instanceof BucketIndexError)) throw err;
        this.o.logger?.warn('ignoring corrupt bucket index; rebuilding it', { tenant, err: err.message });
      }
      if (old !== undefined) {
        known = { index: indexFingerprint(old), view: undefined, updatedAtMs: old.updatedAt * 1000 };
        this.known.set(tenant, known);
      }
    }
    if (
      !changed &&
      known !== undefined &&
      nowMs - known.updatedAtMs < this.refreshMs &&
      (view === known.index || view === known.view)
    ) {
      return 'unchanged';
    }
    if (old === undefined) {
      try {
        old = await readBucketIndex(this.bucket, this.layout, tenant);
      } catch (err) {
        if (!(err instanceof BucketIndexError)) throw err;
        this.o.logger?.warn('ignoring corrupt bucket index; rebuilding it', { tenant, err: err.message });
      }
    }
    const build = await buildBucketIndex(this.bucket, this.layout, tenant, {
      nowMs,
      ...(old ? { old } : {}),
      ...(this.o.concurrency !== undefined ? { concurrency: this.o.concurrency } : {}),
      ...(this.o.logger ? { logger: this.o.logger } : {}),
    });
    await writeBucketIndex(this.bucket, this.layout, tenant, build.index);
    this.writes++;
    // A view taken before this pass deleted blocks does not describe what was written.
    this.known.set(tenant, {
      index: indexFingerprint(build.index),
      view: changed ? undefined : view,
      updatedAtMs: build.index.updatedAt * 1000,
    });
    return 'written';
  }

  /** Forgets a tenant (no longer synced here): its next update reads the bucket's index again. */
  forget(tenant: string): void {
    this.known.delete(tenant);
  }
}
