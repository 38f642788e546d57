/**
 * The per-tenant bucket index `<tenant>/bucket-index.json.gz` in the Cortex format (Cortex
 * pkg/storage/tsdb/bucketindex, version 1): gzip of compact JSON
 *
 *   {"version":1,
 *    "blocks":[{"block_id","min_time","max_time","segments_format"?,"segments_num"?,
 *               "series_max_size"?,"chunk_max_size"?,"uploaded_at"}],
 *    "block_deletion_marks":[{"block_id","deletion_time"}],
 *    "updated_at":<unix s>}
 *
 * `blocks` lists every complete block, deletion-marked ones included, and no partial block.
 * Mimir's version 2 adds compactor_shard_id, source and labels per block; Strata reads v1 and v2
 * (keeping only the v1 fields) and writes v1, which both Cortex and Mimir read.
 * Single-tenant buckets get `bucket-index.json.gz` at the root (a Strata extension).
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Bucket } from '../objstore/bucket.js';
import type { BlockMeta } from '../tsdb/meta.js';
import { isUlid } from '../tsdb/ulid.js';
import { StrataError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { mapLimit } from './concurrency.js';
import { type Layout, listBlockIds, segmentFilename } from './layout.js';
import { listBlockMarkers, listTenantMarkers, readMarker } from './markers.js';
import { type MarkerError } from '../tsdb/markers.js';
import { readBlockState } from './partial.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export const BUCKET_INDEX_VERSION_1 = 1;
/** Mimir's version, accepted when reading. */
export const BUCKET_INDEX_VERSION_2 = 2;
/** Segments named 000001..N (Cortex SegmentsFormat1Based6Digits). */
export const SEGMENTS_FORMAT_1B6D = '1b6d';

export interface BucketIndexBlock {
  blockId: string;
  minTime: number;
  maxTime: number;
  /** '1b6d' when the segments are exactly 000001..N; absent when unknown. */
  segmentsFormat?: string;
  segmentsNum?: number;
  seriesMaxSize?: number;
  chunkMaxSize?: number;
  /** Unix seconds: when meta.json was written (its last-modified time), i.e. the upload completed. */
  uploadedAt: number;
}

export interface BucketIndexDeletionMark {
  blockId: string;
  /** Unix seconds. */
  deletionTime: number;
}

export interface BucketIndex {
  version: number;
  blocks: BucketIndexBlock[];
  blockDeletionMarks: BucketIndexDeletionMark[];
  /** Unix seconds. */
  updatedAt: number;
}

/** An unreadable bucket index (bad gzip, bad JSON, wrong version, bad field). */
export class BucketIndexError extends StrataError {
  readonly key: string;

  constructor(key: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_BLOCK_BAD_INDEX', `bucket index ${key}: ${detail}`, options);
    this.key = key;
  }
}

/**
 * Cortex's detection: thanos.segment_files when present, else the chunks/ entries of
 * thanos.files; '1b6d' with the count when they are exactly 000001..N, else nothing.
 */
export function detectSegmentsFormat(meta: BlockMeta): { segmentsFormat?: string; segmentsNum?: number } {
  const seg = meta.thanos?.segment_files ?? [];
  if (seg.length > 0) {
    return seg.every((f, i) => f === segmentFilename(i + 1))
      ? { segmentsFormat: SEGMENTS_FORMAT_1B6D, segmentsNum: seg.length }
      : {};
  }
  let n = 0;
  for (const f of meta.thanos?.files ?? []) {
    if (!f.rel_path.startsWith('chunks/')) continue;
    if (f.rel_path !== `chunks/${segmentFilename(n + 1)}`) return {};
    n++;
  }
  return n > 0 ? { segmentsFormat: SEGMENTS_FORMAT_1B6D, segmentsNum: n } : {};
}

export function indexBlockFromMeta(meta: BlockMeta, uploadedAtSec: number): BucketIndexBlock {
  const is = meta.thanos?.index_stats;
  return {
    blockId: meta.ulid,
    minTime: meta.minTime,
    maxTime: meta.maxTime,
    ...detectSegmentsFormat(meta),
    ...(is?.series_max_size ? { seriesMaxSize: is.series_max_size } : {}),
    ...(is?.chunk_max_size ? { chunkMaxSize: is.chunk_max_size } : {}),
    uploadedAt: uploadedAtSec,
  };
}

/** Compact JSON in Cortex's field order, omitempty fields left out. */
export function formatBucketIndex(idx: BucketIndex): string {
  return JSON.stringify({
    version: idx.version,
    blocks: idx.blocks.map((b) => ({
      block_id: b.blockId,
      min_time: b.minTime,
      max_time: b.maxTime,
      ...(b.segmentsFormat ? { segments_format: b.segmentsFormat } : {}),
      ...(b.segmentsNum ? { segments_num: b.segmentsNum } : {}),
      ...(b.seriesMaxSize ? { series_max_size: b.seriesMaxSize } : {}),
      ...(b.chunkMaxSize ? { chunk_max_size: b.chunkMaxSize } : {}),
      uploaded_at: b.uploadedAt,
    })),
    block_deletion_marks: idx.blockDeletionMarks.map((m) => ({
      block_id: m.blockId,
      deletion_time: m.deletionTime,
    })),
    updated_at: idx.updatedAt,
  });
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses the JSON (not gzipped). Go's null slices read as empty; missing omitempty fields as absent. */
export function parseBucketIndex(text: string, key: string): BucketIndex {
  const bad = (detail: string, cause?: unknown): never => {
    throw new BucketIndexError(key, detail, cause === undefined ? undefined : { cause });
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return bad('not valid JSON', err);
  }
  if (!isObj(raw)) return bad('not a JSON object');
  const version = raw['version'];
  if (version !== BUCKET_INDEX_VERSION_1 && version !== BUCKET_INDEX_VERSION_2) {
    return bad(`unsupported version ${JSON.stringify(version)}`);
  }
  const int = (
    o: Record<string, unknown>,
    f: string,
    where: string,
    optional = false,
  ): number | undefined => {
    const v = o[f];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return bad(`${where}.${f} is not an integer`);
    return v;
  };
  const id = (o: Record<string, unknown>, where: string): string => {
    const v = o['block_id'];
    if (typeof v !== 'string' || !isUlid(v)) return bad(`${where}.block_id is not a ULID`);
    return v;
  };
  const list = (f: string): unknown[] => {
    const v = raw[f] ?? [];
    if (!Array.isArray(v)) return bad(`${f} is not a list`);
    return v;
  };
  const blocks = list('blocks').map((b, i): BucketIndexBlock => {
    const where = `blocks[${i}]`;
    if (!isObj(b)) return bad(`${where} is not an object`);
    const sf = b['segments_format'];
    if (sf !== undefined && typeof sf !== 'string') return bad(`${where}.segments_format is not a string`);
    const segmentsNum = int(b, 'segments_num', where, true);
    const seriesMaxSize = int(b, 'series_max_size', where, true);
    const chunkMaxSize = int(b, 'chunk_max_size', where, true);
    return {
      blockId: id(b, where),
      minTime: int(b, 'min_time', where)!,
      maxTime: int(b, 'max_time', where)!,
      ...(sf ? { segmentsFormat: sf } : {}),
      ...(segmentsNum ? { segmentsNum } : {}),
      ...(seriesMaxSize ? { seriesMaxSize } : {}),
      ...(chunkMaxSize ? { chunkMaxSize } : {}),
      uploadedAt: int(b, 'uploaded_at', where, true) ?? 0,
    };
  });
  const blockDeletionMarks = list('block_deletion_marks').map((m, i): BucketIndexDeletionMark => {
    const where = `block_deletion_marks[${i}]`;
    if (!isObj(m)) return bad(`${where} is not an object`);
    return { blockId: id(m, where), deletionTime: int(m, 'deletion_time', where, true) ?? 0 };
  });
  return { version, blocks, blockDeletionMarks, updatedAt: int(raw, 'updated_at', 'index', true) ?? 0 };
}

export async function encodeBucketIndex(idx: BucketIndex): Promise<Buffer> {
  return gzipAsync(Buffer.from(formatBucketIndex(idx)));
}

export async function decodeBucketIndex(body: Uint8Array, key: string): Promise<BucketIndex> {
  let text: string;
  try {
    text = (await gunzipAsync(body)).toString('utf8');
  } catch (err) {
    throw new BucketIndexError(key, `not gzip: ${errorMessage(err)}`, { cause: err });
  }
  return parseBucketIndex(text, key);
}

/** The tenant's index, or undefined when there is none. Corrupt indexes throw BucketIndexError. */
export async function readBucketIndex(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
): Promise<BucketIndex | undefined> {
  const key = layout.bucketIndexKey(tenant);
  let body: Buffer;
  try {
    body = await bucket.get(key);
  } catch (err) {
    if (bucket.isNotFound(err)) return undefined;
    throw err;
  }
  return decodeBucketIndex(body, key);
}

export async function writeBucketIndex(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  idx: BucketIndex,
): Promise<void> {
  const body = await encodeBucketIndex(idx);
  await bucket.upload(layout.bucketIndexKey(tenant), body, body.length);
}

/** Removes the tenant's index; true when one existed. */
export async function deleteBucketIndex(bucket: Bucket, layout: Layout, tenant: string): Promise<boolean> {
  try {
    await bucket.delete(layout.bucketIndexKey(tenant));
    return true;
  } catch (err) {
    if (bucket.isNotFound(err)) return false;
    throw err;
  }
}

export interface BuildBucketIndexOptions {
  /** Now (ms), for updated_at. */
  nowMs: number;
  /** A previous index: its entries for blocks and marks still present are reused without GETs. */
  old?: BucketIndex;
  /** Parallel GETs (default 16). */
  concurrency?: number;
  logger?: Logger;
}

export interface BucketIndexBuild {
  index: BucketIndex;
  /** Block folders left out: no meta.json, or one that does not parse. */
  partials: { id: string; reason: 'no-meta' | 'bad-meta'; error?: string }[];
  /** Deletion marks that could not be parsed (logged; left out of the index). */
  invalidMarkers: MarkerError[];
  /** Deletion marks whose block folder is gone (left out; a cleaner may remove them). */
  orphanDeletionMarks: string[];
}

/**
 * Builds the tenant's index from a bucket scan, like Cortex's Updater: blocks from the ULID
 * folders whose meta.json parses (uploaded_at = meta.json's last-modified time), deletion marks
 * from the tenant `markers/` folder (multi-tenant) or the block folders (single-tenant).
 */
export async function buildBucketIndex(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  options: BuildBucketIndexOptions,
): Promise<BucketIndexBuild> {
  const concurrency = options.concurrency ?? 16;
  const log = options.logger?.child(tenant ? { tenant } : {});
  const ids = await listBlockIds(bucket, layout, tenant);
  const present = new Set(ids);
  const oldBlocks = new Map((options.old?.blocks ?? []).map((b) => [b.blockId, b]));
  const oldMarks = new Map((options.old?.blockDeletionMarks ?? []).map((m) => [m.blockId, m]));

  const markEntries =
    layout.tenancy === 'multi'
      ? await listTenantMarkers(bucket, layout, tenant)
      : await listBlockMarkers(bucket, layout, tenant);
  const markIds = [...new Set(markEntries.filter((e) => e.kind === 'deletion').map((e) => e.id))];
  const markedIds = new Set(markIds);

  const partials: BucketIndexBuild['partials'] = [];
  const found = await mapLimit(ids, concurrency, async (id): Promise<BucketIndexBlock | undefined> => {
    // Blocks are immutable: an old entry stays valid while the folder exists, unless the block is
    // marked for deletion and may be half deleted (meta.json goes first), which one HEAD settles.
    const known = oldBlocks.get(id);
    if (known && (!markedIds.has(id) || (await bucket.exists(layout.metaKey(tenant, id))))) return known;
    const st = await readBlockState(bucket, layout, tenant, id);
    if (st.state === 'partial') {
      partials.push({ id, reason: st.reason, ...(st.reason === 'bad-meta' ? { error: st.error } : {}) });
      if (st.reason === 'bad-meta')
        log?.warn('skipped block with corrupt meta.json', { block: id, err: st.error });
      else log?.debug('skipped partial block', { block: id });
      return undefined;
    }
    const attrs = await bucket.attributes(layout.metaKey(tenant, id));
    return indexBlockFromMeta(st.meta, Math.floor(attrs.lastModified.getTime() / 1000));
  });
  const blocks = found.filter((b): b is BucketIndexBlock => b !== undefined);

  const invalidMarkers: MarkerError[] = [];
  const orphanDeletionMarks: string[] = [];
  const marks = await mapLimit(
    markIds,
    concurrency,
    async (id): Promise<BucketIndexDeletionMark | undefined> => {
      if (!present.has(id)) {
        orphanDeletionMarks.push(id);
        return undefined;
      }
      const known = oldMarks.get(id);
      if (known) return known;
      const r = await readMarker(bucket, layout, tenant, id, 'deletion', {
        source: 'tenant-copy',
        ...(log ? { logger: log } : {}),
      });
      if (r.state === 'invalid') invalidMarkers.push(r.error);
      return r.state === 'present' ? { blockId: id, deletionTime: r.marker.deletionTime } : undefined;
    },
  );

  const byId = (a: { blockId: string }, b: { blockId: string }): number =>
    a.blockId < b.blockId ? -1 : a.blockId > b.blockId ? 1 : 0;
  partials.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  orphanDeletionMarks.sort();
  return {
    index: {
      version: BUCKET_INDEX_VERSION_1,
      blocks: blocks.sort(byId),
      blockDeletionMarks: marks.filter((m): m is BucketIndexDeletionMark => m !== undefined).sort(byId),
      updatedAt: Math.floor(options.nowMs / 1000),
    },
    partials,
    invalidMarkers,
    orphanDeletionMarks,
  };
}

/**
 * Reads the current index (a corrupt one is logged and rebuilt from scratch), builds the new one
 * incrementally and writes it.
 */
export async function updateBucketIndex(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  options: Omit<BuildBucketIndexOptions, 'old'>,
): Promise<BucketIndexBuild> {
  let old: BucketIndex | undefined;
  try {
    old = await readBucketIndex(bucket, layout, tenant);
  } catch (err) {
    if (!(err instanceof BucketIndexError)) throw err;
    options.logger?.warn('ignoring corrupt bucket index; rebuilding it', { tenant, err: err.message });
  }
  const build = await buildBucketIndex(bucket, layout, tenant, { ...options, ...(old ? { old } : {}) });
  await writeBucketIndex(bucket, layout, tenant, build.index);
  return build;
}
