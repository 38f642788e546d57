/**
 * Downloading a block into a local directory (Thanos pkg/block Download): meta.json first, to
 * learn the files (thanos.files) and their sizes; without thanos.files, a listing of the block
 * gives them. Every file's size is checked after download.
 *
 * Files land in a sibling temp directory that is renamed to the destination at the end, so a
 * directory at `dst` is always a complete block; on failure the temp directory is removed.
 * Markers and tombstones are bucket state, not block content, and are not downloaded.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Bucket } from '../objstore/bucket.js';
import { CHUNKS_DIR, INDEX_FILENAME } from '../tsdb/block/files.js';
import { type BlockMeta, META_FILENAME, parseMeta } from '../tsdb/meta.js';
import { StrataError, errorCode, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { forEachLimit } from './concurrency.js';
import type { Layout } from './layout.js';

/** A block download that failed: names the block and the file (relative to the block dir). */
/** Codes of a download failure: a plain failure, or a defect of the block itself. */
export type BlockDownloadCode = 'ERR_BLOCK_DOWNLOAD' | 'ERR_BLOCK_INCOMPLETE' | 'ERR_TSDB_BAD_META';

export class BlockDownloadError extends StrataError {
  readonly blockId: string;
  readonly file: string;

  constructor(
    blockId: string,
    file: string,
    detail: string,
    options?: { cause?: unknown; code?: BlockDownloadCode },
  ) {
    super(
      options?.code ?? 'ERR_BLOCK_DOWNLOAD',
      `download block ${blockId}${file ? ` file ${file}` : ''}: ${detail}`,
      options,
    );
    this.blockId = blockId;
    this.file = file;
  }
}

export interface DownloadProgress {
  blockId: string;
  file: string;
  bytesDone: number;
  bytesTotal: number;
}

export interface DownloadOptions {
  /** Parallel file downloads (default 4). */
  concurrency?: number;
  /** Replace an existing directory at the destination (default: refuse). */
  overwrite?: boolean;
  logger?: Logger;
  onProgress?: (p: DownloadProgress) => void;
}

export interface DownloadResult {
  id: string;
  dir: string;
  meta: BlockMeta;
  bytes: number;
  files: number;
}

interface RemoteFile {
  relPath: string;
  size: number;
}

/** Only index and chunks/<name> are block content; anything else in thanos.files is refused. */
function isBlockContentPath(rel: string): boolean {
  if (rel === INDEX_FILENAME) return true;
  const m = /^chunks\/([^/]+)$/.exec(rel);
  return m !== null && m[1] !== '.' && m[1] !== '..';
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
}

async function filesToFetch(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  id: string,
  meta: BlockMeta,
): Promise<RemoteFile[]> {
  const listed = meta.thanos?.files?.filter((f) => f.rel_path !== META_FILENAME) ?? [];
  let files: RemoteFile[];
  if (listed.length > 0) {
    files = listed.map((f) => {
      if (!isBlockContentPath(f.rel_path)) {
        throw new BlockDownloadError(id, f.rel_path, 'thanos.files names a file outside index and chunks/', {
          code: 'ERR_TSDB_BAD_META',
        });
      }
      return { relPath: f.rel_path, size: f.size_bytes ?? 0 };
    });
  } else {
    const prefix = layout.blockPrefix(tenant, id);
    files = [];
    for await (const e of bucket.iter(prefix, { recursive: true })) {
      const rel = e.key.slice(prefix.length);
      if (isBlockContentPath(rel)) files.push({ relPath: rel, size: e.size ?? -1 });
    }
  }
  if (!files.some((f) => f.relPath === INDEX_FILENAME)) {
    throw new BlockDownloadError(id, INDEX_FILENAME, 'block has no index', { code: 'ERR_BLOCK_INCOMPLETE' });
  }
  return files;
}

/**
 * Downloads block `id` of `tenant` into `dst` (the block directory itself, usually
 * `<parent>/<ULID>`). meta.json is written byte for byte as stored in the bucket.
 */
export async function downloadBlock(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  id: string,
  dst: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const metaKey = layout.metaKey(tenant, id);
  if (!options.overwrite && (await exists(dst))) {
    throw new BlockDownloadError(id, '', 'destination already exists');
  }
  let metaBody: Buffer;
  try {
    metaBody = await bucket.get(metaKey);
  } catch (err) {
    const detail = bucket.isNotFound(err)
      ? 'no meta.json in the bucket (missing or partial block)'
      : errorMessage(err);
    throw new BlockDownloadError(id, META_FILENAME, detail, { cause: err });
  }
  let meta: BlockMeta;
  try {
    meta = parseMeta(metaBody.toString('utf8'), metaKey);
  } catch (err) {
    throw new BlockDownloadError(id, META_FILENAME, errorMessage(err), { cause: err });
  }
  if (meta.ulid !== id)
    throw new BlockDownloadError(id, META_FILENAME, `meta.json is for block ${meta.ulid}`, {
      code: 'ERR_TSDB_BAD_META',
    });
  const files = await filesToFetch(bucket, layout, tenant, id, meta);

  const tmp = join(dirname(dst), `.${id}.tmp-download-${randomBytes(4).toString('hex')}`);
  const bytesTotal = files.reduce((a, f) => a + Math.max(0, f.size), 0) + metaBody.length;
  let bytesDone = 0;
  try {
    await mkdir(join(tmp, CHUNKS_DIR), { recursive: true });
    await forEachLimit(files, options.concurrency ?? 4, async (f) => {
      const local = join(tmp, f.relPath);
      try {
        await bucket.downloadFile(layout.blockFile(tenant, id, f.relPath), local);
      } catch (err) {
        // meta.json was read: a file it lists (or the index) missing is a defect of the block.
        if (bucket.isNotFound(err)) {
          throw new BlockDownloadError(id, f.relPath, 'missing in the bucket', {
            cause: err,
            code: 'ERR_BLOCK_INCOMPLETE',
          });
        }
        throw new BlockDownloadError(id, f.relPath, errorMessage(err), { cause: err });
      }
      const size = (await stat(local)).size;
      if (f.size >= 0 && size !== f.size) {
        throw new BlockDownloadError(id, f.relPath, `size ${size} bytes, expected ${f.size}`, {
          code: 'ERR_BLOCK_INCOMPLETE',
        });
      }
      bytesDone += size;
      options.onProgress?.({ blockId: id, file: f.relPath, bytesDone, bytesTotal });
    });
    await writeFile(join(tmp, META_FILENAME), metaBody);
    bytesDone += metaBody.length;
    options.onProgress?.({ blockId: id, file: META_FILENAME, bytesDone, bytesTotal });
    if (options.overwrite) await rm(dst, { recursive: true, force: true });
    await rename(tmp, dst);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch((rmErr: unknown) => {
      options.logger?.warn('could not remove partial download', { dir: tmp, err: errorMessage(rmErr) });
    });
    if (err instanceof BlockDownloadError) throw err;
    throw new BlockDownloadError(id, '', errorMessage(err), { cause: err });
  }
  options.logger?.debug('downloaded block', { block: id, bytes: bytesDone, files: files.length + 1 });
  return { id, dir: dst, meta, bytes: bytesDone, files: files.length + 1 };
}
