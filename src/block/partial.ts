/**
 * Partial blocks: a ULID folder without a parsable meta.json (an upload that is still running or
 * was killed, or a hard delete that stopped half way). Readers skip them; the compactor deletes one
 * once its newest object is older than a delay (Thanos: 48h), falling back to the ULID time when
 * the listing gives no times, and never while it has a deletion mark (the cleaner owns those).
 */
import type { Bucket } from '../objstore/bucket.js';
import { type BlockMeta, parseMeta } from '../tsdb/meta.js';
import { ulidTime } from '../tsdb/ulid.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { mapLimit } from './concurrency.js';
import { type Layout, listBlockIds, listBlockObjects } from './layout.js';
import { DELETION_MARK_FILENAME } from '../tsdb/markers.js';

/** Thanos' PartialUploadThresholdAge. */
export const DEFAULT_PARTIAL_BLOCK_DELAY_MS = 48 * 3600_000;

export type BlockState =
  | { state: 'complete'; meta: BlockMeta; metaBytes: Buffer }
  | { state: 'partial'; reason: 'no-meta' }
  | { state: 'partial'; reason: 'bad-meta'; error: string };

/**
 * Reads and parses a block's meta.json. Missing or unparsable → partial (never thrown); other
 * bucket errors are thrown, since a transient failure must not make a complete block look partial.
 */
export async function readBlockState(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  id: string,
): Promise<BlockState> {
  const key = layout.metaKey(tenant, id);
  let body: Buffer;
  try {
    body = await bucket.get(key);
  } catch (err) {
    if (bucket.isNotFound(err)) return { state: 'partial', reason: 'no-meta' };
    throw err;
  }
  try {
    const meta = parseMeta(body.toString('utf8'), key);
    if (meta.ulid !== id)
      return { state: 'partial', reason: 'bad-meta', error: `meta.json names block ${meta.ulid}` };
    return { state: 'complete', meta, metaBytes: body };
  } catch (err) {
    return { state: 'partial', reason: 'bad-meta', error: errorMessage(err) };
  }
}

export interface PartialBlock {
  tenant: string;
  id: string;
  reason: 'no-meta' | 'bad-meta';
  /** Parse error of a present but unusable meta.json. */
  error?: string;
  objects: number;
  bytes: number;
  /** Newest object's modification time (ms); undefined when the listing carried no times. */
  newestObjectMs?: number;
  /** newestObjectMs, or the ULID time when unknown: what the age rule compares. */
  lastActivityMs: number;
  hasDeletionMark: boolean;
}

/** Age facts of one partial block, from one recursive listing of its folder. */
export async function describePartialBlock(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  id: string,
  state: Extract<BlockState, { state: 'partial' }>,
): Promise<PartialBlock> {
  const objects = await listBlockObjects(bucket, layout, tenant, id);
  let newest: number | undefined;
  let bytes = 0;
  for (const o of objects) {
    bytes += o.size ?? 0;
    const t = o.lastModified?.getTime();
    if (t !== undefined && (newest === undefined || t > newest)) newest = t;
  }
  return {
    tenant,
    id,
    reason: state.reason,
    ...(state.reason === 'bad-meta' ? { error: state.error } : {}),
    objects: objects.length,
    bytes,
    ...(newest !== undefined ? { newestObjectMs: newest } : {}),
    lastActivityMs: newest ?? ulidTime(id),
    hasDeletionMark: objects.some((o) => o.relPath === DELETION_MARK_FILENAME),
  };
}

/** True when the partial-block cleaner may delete it: idle for longer than `delayMs`, no deletion mark. */
export function isPartialBlockDeletable(
  p: PartialBlock,
  nowMs: number,
  delayMs = DEFAULT_PARTIAL_BLOCK_DELAY_MS,
): boolean {
  return !p.hasDeletionMark && nowMs - p.lastActivityMs > delayMs;
}

export interface FindPartialOptions {
  /** Parallel meta.json reads (default 16). */
  concurrency?: number;
  logger?: Logger;
  /** Only these block IDs (default: every ULID folder of the tenant). */
  ids?: readonly string[];
}

/**
 * Every partial block of a tenant: lists the ULID folders, reads each meta.json, and describes the
 * ones without a usable one. Costs one GET per block; the metadata fetcher, which reads every
 * meta.json anyway, can call readBlockState + describePartialBlock itself instead.
 */
export async function findPartialBlocks(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  options: FindPartialOptions = {},
): Promise<PartialBlock[]> {
  const ids = options.ids ?? (await listBlockIds(bucket, layout, tenant));
  const found = await mapLimit(ids, options.concurrency ?? 16, async (id) => {
    const st = await readBlockState(bucket, layout, tenant, id);
    if (st.state === 'complete') return undefined;
    const p = await describePartialBlock(bucket, layout, tenant, id, st);
    options.logger?.debug('partial block', {
      block: id,
      ...(tenant ? { tenant } : {}),
      reason: p.reason,
      ...(p.error ? { err: p.error } : {}),
    });
    return p;
  });
  return found.filter((p): p is PartialBlock => p !== undefined);
}
