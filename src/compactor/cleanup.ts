/**
 * The cleaner: hard-deletes blocks whose deletion mark is older than the delete delay, deletes
 * partial blocks idle for longer than the partial delay (never while an upload may still be
 * running), removes temporary files of killed writers after the same delay (filesystem buckets),
 * and reports what is left to delete per tenant.
 */
import type { Bucket } from '../objstore/bucket.js';
import type { Layout } from '../block/layout.js';
import type { TenantSync } from '../block/fetcher/types.js';
import { deleteBlock } from '../block/delete.js';
import { forEachLimit } from '../block/concurrency.js';
import { describePartialBlock, isPartialBlockDeletable, readBlockState } from '../block/partial.js';
import { ulidTime } from '../tsdb/ulid.js';
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/errors.js';

export interface CleanupOptions {
  deleteDelayMs: number;
  partialDelayMs: number;
  /** Marked blocks deleted at once (default 8), per tenant. */
  deleteConcurrency?: number;
  /** Tenants cleaned at once (default 4). */
  tenantConcurrency?: number;
}

export const DEFAULT_DELETE_CONCURRENCY = 8;
export const DEFAULT_TENANT_CONCURRENCY = 4;

export interface CleanupResult {
  deletedMarked: number;
  deletedPartial: number;
  /** Temporary files of killed writers (filesystem buckets; 0 elsewhere and per tenant). */
  deletedTemporary: number;
  /** Marked blocks still waiting for their delete delay. */
  pendingDeletion: number;
  errors: number;
}

export async function cleanTenant(
  bucket: Bucket,
  layout: Layout,
  t: TenantSync,
  nowMs: number,
  o: CleanupOptions,
  log: Logger,
): Promise<CleanupResult> {
  const res: CleanupResult = {
    deletedMarked: 0,
    deletedPartial: 0,
    deletedTemporary: 0,
    pendingDeletion: 0,
    errors: 0,
  };
  const due: string[] = [];
  for (const [id, mark] of t.deletionMarks) {
    if (nowMs - mark.deletionTime * 1000 <= o.deleteDelayMs) res.pendingDeletion++;
    else due.push(id);
  }
  // Several blocks at once: one block is ~6 sequential requests, so over S3 a backlog of marked
  // blocks deleted one by one takes minutes. A failure never stops the others.
  await forEachLimit(due, o.deleteConcurrency ?? DEFAULT_DELETE_CONCURRENCY, async (id) => {
    try {
      await deleteBlock(bucket, layout, t.tenant, id, { logger: log });
      res.deletedMarked++;
    } catch (err) {
      res.errors++;
      log.warn('deleting a marked block failed; retried next pass', { block: id, err: errorMessage(err) });
    }
  });
  for (const id of t.partial.keys()) {
    // Cheap pre-check: a block younger than the delay by its ULID cannot be idle long enough.
    if (nowMs - ulidTime(id) <= o.partialDelayMs) continue;
    try {
      const st = await readBlockState(bucket, layout, t.tenant, id);
      if (st.state === 'complete') continue;
      const p = await describePartialBlock(bucket, layout, t.tenant, id, st);
      // Already deleted (the fetcher lists it as partial until its next full listing).
      if (p.objects === 0) continue;
      if (!isPartialBlockDeletable(p, nowMs, o.partialDelayMs)) continue;
      await deleteBlock(bucket, layout, t.tenant, id, { logger: log });
      res.deletedPartial++;
      log.info('deleted partial block', { block: id, reason: p.reason });
    } catch (err) {
      res.errors++;
      log.warn('deleting a partial block failed; retried next pass', { block: id, err: errorMessage(err) });
    }
  }
  return res;
}

/** Says when the temporary files sweep is due, and hears when one succeeded. */
export interface TemporarySweep {
  due(): Promise<boolean>;
  done(): Promise<void>;
}

export interface CleanTenantsDeps {
  bucket: Bucket;
  layout: Layout;
  logger: Logger;
  now: () => number;
  /**
   * Brings the tenant's bucket index up to date after its cleanup (multi-tenant buckets);
   * `changed`: the cleanup deleted blocks, so the sync no longer describes the bucket.
   */
  writeBucketIndex?: (tenant: TenantSync, changed: boolean) => Promise<void>;
  /**
   * When to sweep the filesystem bucket's temporary files (a walk of every folder); without it,
   * every call sweeps.
   */
  temporarySweep?: TemporarySweep;
  /** Called once per tenant with what its cleanup did. */
  onTenant?: (tenant: string, r: CleanupResult) => void;
  /** Test/debug hook before each tenant's cleanup ('clean') and index write ('index'). */
  beforeStep?: (step: 'clean' | 'index') => Promise<void> | void;
}

/** The cleaner over every synced tenant, then each tenant's bucket index. Never throws for one tenant. */
export async function cleanTenants(
  tenants: Iterable<TenantSync>,
  o: CleanupOptions,
  d: CleanTenantsDeps,
): Promise<CleanupResult> {
  const total: CleanupResult = {
    deletedMarked: 0,
    deletedPartial: 0,
    deletedTemporary: 0,
    pendingDeletion: 0,
    errors: 0,
  };
  // Tenants are independent: a few at once, so a pass that ends with many blocks to delete (each
  // a handful of sequential requests) does not delete one tenant after the other.
  await forEachLimit([...tenants], o.tenantConcurrency ?? DEFAULT_TENANT_CONCURRENCY, async (tenant) => {
    const log = d.logger.child(tenant.tenant ? { tenant: tenant.tenant } : {});
    await d.beforeStep?.('clean');
    const c = await cleanTenant(d.bucket, d.layout, tenant, d.now(), o, log);
    total.deletedMarked += c.deletedMarked;
    total.deletedPartial += c.deletedPartial;
    total.pendingDeletion += c.pendingDeletion;
    total.errors += c.errors;
    d.onTenant?.(tenant.tenant, c);
    if (d.writeBucketIndex === undefined) return;
    try {
      await d.beforeStep?.('index');
      await d.writeBucketIndex(tenant, c.deletedMarked + c.deletedPartial > 0);
    } catch (err) {
      total.errors++;
      log.warn('updating the bucket index failed; retried next pass', { err: errorMessage(err) });
    }
  });
  // After the partial blocks: a killed upload's temporary file is what keeps its folder.
  if (d.bucket.cleanupTemporary !== undefined && (await d.temporarySweep?.due()) !== false) {
    try {
      total.deletedTemporary = await d.bucket.cleanupTemporary(o.partialDelayMs);
      await d.temporarySweep?.done();
      if (total.deletedTemporary > 0) {
        d.logger.info('deleted temporary files of killed writers', { count: total.deletedTemporary });
      }
    } catch (err) {
      total.errors++;
      d.logger.warn('deleting temporary files failed; retried next pass', { err: errorMessage(err) });
    }
  }
  return total;
}
