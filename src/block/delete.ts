/**
 * Hard deletion and deletion marks (Thanos pkg/block Delete / MarkForDeletion).
 *
 * Delete order: meta.json first (the block turns partial, so no reader trusts a half-deleted
 * block), then every other object, then deletion-mark.json, then the tenant `markers/` copies. A
 * crash at any point leaves something a retry (or the partial-block cleaner) finishes; every step
 * tolerates objects that are already gone, so deleteBlock is idempotent.
 */
import type { Bucket } from '../objstore/bucket.js';
import { META_FILENAME } from '../tsdb/meta.js';
import { StrataError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { type Layout, TENANT_MARKER_KINDS } from './layout.js';
import { DELETION_MARK_FILENAME } from '../tsdb/markers.js';
import { type WriteMarkerOutcome, writeMarker } from './markers.js';
import { newDeletionMark } from '../tsdb/markers.js';

export interface DeleteOptions {
  logger?: Logger;
}

export interface DeleteResult {
  /** Objects removed (markers copies included). 0 when the block was already gone. */
  deleted: number;
}

async function deleteIfExists(bucket: Bucket, key: string): Promise<boolean> {
  try {
    await bucket.delete(key);
    return true;
  } catch (err) {
    if (bucket.isNotFound(err)) return false;
    throw err;
  }
}

/** Deletes every object of a block and its tenant marker copies, in the safe order. */
export async function deleteBlock(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  id: string,
  options: DeleteOptions = {},
): Promise<DeleteResult> {
  // blockPrefix validates the ULID, so an empty or odd id can never widen the deletion.
  const prefix = layout.blockPrefix(tenant, id);
  const metaKey = prefix + META_FILENAME;
  const markKey = prefix + DELETION_MARK_FILENAME;
  let deleted = 0;
  if (await deleteIfExists(bucket, metaKey)) deleted++;
  const rest: string[] = [];
  for await (const e of bucket.iter(prefix, { recursive: true })) {
    if (e.key !== metaKey && e.key !== markKey) rest.push(e.key);
  }
  if (rest.length > 0) {
    await bucket.deleteMany(rest);
    deleted += rest.length;
  }
  if (await deleteIfExists(bucket, markKey)) deleted++;
  for (const kind of TENANT_MARKER_KINDS) {
    const copy = layout.tenantMarkerKey(tenant, id, kind);
    if (copy !== undefined && (await deleteIfExists(bucket, copy))) deleted++;
  }
  options.logger?.debug('deleted block', { block: id, ...(tenant ? { tenant } : {}), objects: deleted });
  return { deleted };
}

export interface MarkForDeletionOptions {
  logger?: Logger;
  /** Refuse when the block has no meta.json (ERR_NOT_FOUND). Default false, like Thanos. */
  requireBlock?: boolean;
}

/**
 * Writes deletion-mark.json (and its tenant copy). Idempotent: an existing mark is kept, with its
 * original deletion time, so retries never push the deletion further out.
 */
export async function markForDeletion(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  id: string,
  details: string,
  nowMs: number,
  options: MarkForDeletionOptions = {},
): Promise<WriteMarkerOutcome> {
  if (options.requireBlock && !(await bucket.exists(layout.metaKey(tenant, id)))) {
    throw new StrataError('ERR_NOT_FOUND', `block ${id} not found${tenant ? ` for tenant ${tenant}` : ''}`);
  }
  const outcome = await writeMarker(
    bucket,
    layout,
    tenant,
    newDeletionMark(id, nowMs, details),
    options.logger ? { logger: options.logger } : {},
  );
  if (outcome === 'written') {
    options.logger?.info('block marked for deletion', { block: id, ...(tenant ? { tenant } : {}) });
  }
  return outcome;
}
