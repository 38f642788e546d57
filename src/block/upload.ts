/**
 * Uploading a local block directory (Thanos pkg/block Upload / UploadPromBlock):
 * chunks/* (bounded concurrency), then index, then meta.json LAST, so a block without meta.json in
 * the bucket is a pending or aborted upload and every reader skips it.
 *
 * The uploaded meta.json is the local one plus `thanos.files` (sizes of chunks/*, index, and
 * meta.json without size) and `thanos.upload_time`; the local file is never rewritten, so a failed
 * upload leaves the local block exactly as it was. `tombstones` and any other extra file in the
 * directory are not uploaded (Thanos does the same).
 *
 * External labels: not required by default (like UploadPromBlock / `thanos tools bucket
 * upload-blocks`, which upload plain Prometheus blocks); `requireExternalLabels` gives the sidecar
 * rule. A block without a thanos section gets one (labels from `externalLabels` or none,
 * resolution 0, source from `source` or ''), which is what Go's Thanos writes for such blocks too.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Bucket } from '../objstore/bucket.js';
import { CHUNKS_DIR, INDEX_FILENAME } from '../tsdb/block/files.js';
import { type BlockMeta, META_FILENAME, type ThanosFile, formatMeta, readMetaFile } from '../tsdb/meta.js';
import { isUlid } from '../tsdb/ulid.js';
import { formatUploadTime } from '../tsdb/upload-time.js';
import { StrataError, errorCode, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { forEachLimit } from './concurrency.js';
import { deleteBlock } from './delete.js';
import type { Layout } from './layout.js';

/** A block upload that failed: names the block and the file (relative to the block dir). */
export class BlockUploadError extends StrataError {
  readonly blockId: string;
  readonly file: string;

  constructor(blockId: string, file: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_BLOCK_UPLOAD', `upload block ${blockId}${file ? ` file ${file}` : ''}: ${detail}`, options);
    this.blockId = blockId;
    this.file = file;
  }
}

export interface UploadProgress {
  blockId: string;
  /** File just finished (relative path). */
  file: string;
  bytesDone: number;
  bytesTotal: number;
}

export interface UploadOptions {
  /** Parallel chunk segment uploads (default 4). index and meta.json always go alone, in order. */
  concurrency?: number;
  /** Refuse blocks without external labels (the Thanos sidecar rule). Default false. */
  requireExternalLabels?: boolean;
  /**
   * External labels for blocks that have none. A block whose own labels differ is refused rather
   * than relabelled: changing labels moves it to another compaction group.
   */
  externalLabels?: Readonly<Record<string, string>>;
  /** thanos.source for blocks whose source is empty (e.g. 'bucket.upload'). */
  source?: string;
  /** Delete what was uploaded when chunks or index fail (Thanos does). Default true. */
  cleanupOnFailure?: boolean;
  /** Clock for upload_time (default Date.now). */
  now?: () => number;
  logger?: Logger;
  onProgress?: (p: UploadProgress) => void;
}

export interface UploadResult {
  id: string;
  /** The meta.json as uploaded. */
  meta: BlockMeta;
  /** Bytes uploaded, meta.json included. */
  bytes: number;
  files: number;
}

interface LocalFile {
  relPath: string;
  size: number;
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

/** Chunk segments and index of a block dir, sorted by relative path (meta.json not included). */
async function gatherFiles(dir: string, id: string): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  let names: string[];
  try {
    names = (await readdir(join(dir, CHUNKS_DIR))).sort();
  } catch (err) {
    throw new BlockUploadError(id, CHUNKS_DIR, `cannot read chunks directory: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  for (const n of names) {
    const st = await stat(join(dir, CHUNKS_DIR, n));
    if (!st.isFile()) throw new BlockUploadError(id, `${CHUNKS_DIR}/${n}`, 'not a regular file');
    out.push({ relPath: `${CHUNKS_DIR}/${n}`, size: st.size });
  }
  try {
    const st = await stat(join(dir, INDEX_FILENAME));
    if (!st.isFile()) throw new Error('not a regular file');
    out.push({ relPath: INDEX_FILENAME, size: st.size });
  } catch (err) {
    throw new BlockUploadError(id, INDEX_FILENAME, `missing or unreadable: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return out;
}

/** The meta.json to upload: local meta + files + upload_time (+ labels/source defaults). */
export function metaForUpload(
  local: BlockMeta,
  files: readonly { relPath: string; size: number }[],
  options: Pick<UploadOptions, 'requireExternalLabels' | 'externalLabels' | 'source'>,
  nowMs: number,
): BlockMeta {
  const id = local.ulid;
  const thanos = local.thanos ?? { labels: {}, downsample: { resolution: 0 }, source: '' };
  let labels = thanos.labels;
  if (options.externalLabels && Object.keys(options.externalLabels).length > 0) {
    if (Object.keys(labels).length === 0) labels = { ...options.externalLabels };
    else if (!sameLabels(labels, options.externalLabels)) {
      throw new BlockUploadError(id, META_FILENAME, 'block already has different external labels');
    }
  }
  if (options.requireExternalLabels && Object.keys(labels).length === 0) {
    throw new BlockUploadError(id, META_FILENAME, 'empty external labels are not allowed for this upload');
  }
  const thanosFiles: ThanosFile[] = [
    ...files.map((f) => ({ rel_path: f.relPath, size_bytes: f.size })),
    { rel_path: META_FILENAME },
  ].sort((a, b) => (a.rel_path < b.rel_path ? -1 : a.rel_path > b.rel_path ? 1 : 0));
  return {
    ...local,
    thanos: {
      ...thanos,
      labels,
      source: thanos.source === '' && options.source ? options.source : thanos.source,
      files: thanosFiles,
      upload_time: formatUploadTime(nowMs),
    },
  };
}

/**
 * Uploads the block in `dir` (its name must be the block ULID) to the tenant's place in the bucket.
 * Re-uploading the same block is safe: every object is overwritten, meta.json last.
 */
export async function uploadBlock(
  bucket: Bucket,
  layout: Layout,
  tenant: string,
  dir: string,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const id = basename(dir);
  if (!isUlid(id)) throw new BlockUploadError(id, '', 'directory name is not a block ULID');
  let local: BlockMeta;
  try {
    local = await readMetaFile(dir);
  } catch (err) {
    throw new BlockUploadError(id, META_FILENAME, errorMessage(err), { cause: err });
  }
  if (local.ulid !== id) {
    throw new BlockUploadError(id, META_FILENAME, `meta.json is for block ${local.ulid}, not ${id}`);
  }
  const files = await gatherFiles(dir, id);
  const meta = metaForUpload(local, files, options, (options.now ?? Date.now)());
  const metaBody = Buffer.from(formatMeta(meta));
  const bytesTotal = files.reduce((a, f) => a + f.size, 0) + metaBody.length;
  let bytesDone = 0;
  const done = (file: string, size: number): void => {
    bytesDone += size;
    options.onProgress?.({ blockId: id, file, bytesDone, bytesTotal });
  };
  const log = options.logger?.child({ block: id, ...(tenant ? { tenant } : {}) });

  const uploadOne = async (f: LocalFile): Promise<void> => {
    try {
      await bucket.uploadFile(layout.blockFile(tenant, id, f.relPath), join(dir, f.relPath));
    } catch (err) {
      throw new BlockUploadError(id, f.relPath, errorMessage(err), { cause: err });
    }
    done(f.relPath, f.size);
  };

  const chunks = files.filter((f) => f.relPath !== INDEX_FILENAME);
  const index = files.find((f) => f.relPath === INDEX_FILENAME)!;
  try {
    await forEachLimit(chunks, options.concurrency ?? 4, uploadOne);
    await uploadOne(index);
  } catch (err) {
    if (options.cleanupOnFailure ?? true) {
      try {
        await deleteBlock(bucket, layout, tenant, id);
      } catch (cleanErr) {
        log?.warn('cleaning up after a failed upload failed; the partial block stays', {
          err: errorMessage(cleanErr),
          code: errorCode(cleanErr),
        });
      }
    }
    throw err;
  }
  // No cleanup from here on: an upload that errored may still land (S3 503 SlowDown), and deleting
  // chunks under a meta.json that appears later would create a broken "complete" block.
  try {
    await bucket.upload(layout.metaKey(tenant, id), metaBody, metaBody.length);
  } catch (err) {
    throw new BlockUploadError(id, META_FILENAME, errorMessage(err), { cause: err });
  }
  done(META_FILENAME, metaBody.length);
  log?.debug('uploaded block', { bytes: bytesDone, files: files.length + 1 });
  return { id, meta, bytes: bytesDone, files: files.length + 1 };
}
