/**
 * The Bucket interface every layer above objstore is written against (modelled on Thanos'
 * pkg/objstore Bucket). Keys use '/' separators and never start with '/'.
 *
 * Semantics shared by every implementation (the conformance suite checks them):
 * - Missing objects fail with ERR_OBJSTORE_NOT_FOUND for get, getRange, getStream, attributes,
 *   downloadFile and delete (like Thanos, deleting a missing key is an error); `deleteMany`
 *   ignores missing keys so a retried batch never fails on what it already deleted.
 * - `getRange` returns `object[offset, min(offset + length, size))`: reading past the end gives a
 *   short (possibly empty) buffer, never an error.
 * - `iter` lists keys starting with `prefix` (a plain string prefix, as on S3: pass 'tenant/' for
 *   a "directory") strictly in UTF-8 byte order. Non-recursive listing groups keys at the next '/'
 *   into "directory" entries ending in '/'. `startAfter` behaves like S3's StartAfter: an entry is
 *   returned when it covers at least one key greater than startAfter, and a directory entry equal
 *   to startAfter is never returned (so resuming from the last entry seen works).
 */
import type { Readable } from 'node:stream';

export interface ObjectAttributes {
  size: number;
  lastModified: Date;
}

/** One listing entry. Directory entries (non-recursive listing) end in '/' and carry no size. */
export interface IterEntry {
  key: string;
  size?: number;
  lastModified?: Date;
}

export interface IterOptions {
  /** false (default): group at '/' like S3's Delimiter; true: every object key. */
  recursive?: boolean;
  /** Only entries after this key, in byte order (S3 StartAfter). */
  startAfter?: string;
}

export type UploadBody = Buffer | Uint8Array | Readable;

/** Names of the Bucket's request operations, as used in errors, logs and metric labels. */
export const BUCKET_OPERATIONS = [
  'get',
  'get_range',
  'get_stream',
  'upload',
  'upload_file',
  'download_file',
  'delete',
  'delete_many',
  'exists',
  'attributes',
  'iter',
] as const;

export type BucketOperation = (typeof BUCKET_OPERATIONS)[number];

export interface Bucket {
  /** Stable name for logs and metric labels (never contains credentials). */
  readonly name: string;
  get(key: string): Promise<Buffer>;
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  /** Resolves once the object is known to exist, so not-found surfaces here and not mid-stream. */
  getStream(key: string): Promise<Readable>;
  /** `size`, when given, must equal the body length; stream bodies are checked while written. */
  upload(key: string, body: UploadBody, size?: number): Promise<void>;
  uploadFile(key: string, localPath: string): Promise<void>;
  downloadFile(key: string, localPath: string): Promise<void>;
  delete(key: string): Promise<void>;
  deleteMany(keys: readonly string[]): Promise<void>;
  exists(key: string): Promise<boolean>;
  attributes(key: string): Promise<ObjectAttributes>;
  iter(prefix: string, options?: IterOptions): AsyncIterable<IterEntry>;
  isNotFound(err: unknown): boolean;
  close(): Promise<void>;
  /**
   * Only on buckets that stage writes in temporary files (filesystem): removes those a killed
   * writer left behind, last modified at least olderThanMs ago, and returns how many. Wrappers
   * forward it; S3 has none (an interrupted multipart upload is aborted by the SDK).
   */
  cleanupTemporary?(olderThanMs: number): Promise<number>;
}

/** Orders keys by their UTF-8 bytes (what S3 does), which equals code point order, not UTF-16 order. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Surrogates (0xD800-0xDFFF) encode code points above 0xFFFF, which sort after every BMP char.
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa !== sb) return sa ? 1 : -1;
    return ca - cb;
  }
  return a.length - b.length;
}

/**
 * Whether `s` holds no UTF-16 unit from U+D800 up: then JS's own string order (`x > s`) agrees
 * with compareKeys for any x (at the first difference s has a BMP char below the surrogates, which
 * sorts the same as a code unit and as UTF-8), and a loop over char codes is not needed.
 */
export function sortsNatively(s: string): boolean {
  return !/[\ud800-\uffff]/.test(s);
}

/** Collects an iteration into an array (tests and small listings). */
export async function listAll(bucket: Bucket, prefix: string, options?: IterOptions): Promise<IterEntry[]> {
  const out: IterEntry[] = [];
  for await (const e of bucket.iter(prefix, options)) out.push(e);
  return out;
}

/** Byte length of an in-memory upload body, or undefined for streams. */
export function bodyLength(body: UploadBody): number | undefined {
  return body instanceof Uint8Array ? body.byteLength : undefined;
}
