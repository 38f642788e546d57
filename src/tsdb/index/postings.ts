/** Postings lists (sorted series IDs): on-disk encoding and set operations on Uint32Arrays. */
import { FormatError, type ErrorCode } from '../../util/errors.js';
import { crc32c, crc32cRange } from '../encoding/crc32c.js';
import { be32At } from '../encoding/decbuf.js';
import { MAX_UINT32 } from './format.js';
import type { BufferedFileWriter } from './io.js';
import { putBe32s } from '../../util/typed-arrays.js';

export const EMPTY_POSTINGS: Uint32Array = new Uint32Array(0);

export const CHUNK_IDS = 1 << 14;
/** Scratch size for writePostingsList and encodePostingsList of up to CHUNK_IDS entries. */
export const POSTINGS_SCRATCH = 4 * CHUNK_IDS + 12;

/** Writes len, n, ids (BE32) and CRC for `ids[0..n)`; `scratch` must hold 4 * CHUNK_IDS + 8 bytes. */
export async function writePostingsList(
  out: BufferedFileWriter,
  ids: Uint32Array,
  n: number,
  scratch: Buffer,
): Promise<void> {
  const len = 4 + 4 * n;
  if (len > MAX_UINT32) throw new RangeError(`postings list of ${n} entries exceeds 4 GiB`);
  scratch.writeUInt32BE(len, 0);
  scratch.writeUInt32BE(n, 4);
  let crc = crc32c(scratch.subarray(4, 8));
  let p = out.write(scratch.subarray(0, 8));
  if (p) await p;
  for (let i = 0; i < n; i += CHUNK_IDS) {
    const m = Math.min(CHUNK_IDS, n - i);
    putBe32s(scratch, 0, ids.subarray(i, i + m), m);
    const bytes = scratch.subarray(0, 4 * m);
    crc = crc32c(bytes, crc);
    p = out.write(bytes);
    if (p) await p;
  }
  scratch.writeUInt32BE(crc, 0);
  p = out.write(scratch.subarray(0, 4));
  if (p) await p;
}

/** Encodes a list that fits `scratch` (n <= (scratch.length - 12) / 4) and returns its byte size. */
export function encodePostingsList(scratch: Buffer, ids: Uint32Array, n: number): number {
  scratch.writeUInt32BE(4 + 4 * n, 0);
  scratch.writeUInt32BE(n, 4);
  const p = 8 + 4 * n;
  putBe32s(scratch, 8, ids, n);
  scratch.writeUInt32BE(crc32cRange(scratch, 4, p), p);
  return p + 4;
}

/**
 * Decodes a whole list `[len][n][ids][crc]` at `start` in `buf` (ending before `end`); `base` is the
 * file offset of buf[0]. Checks the CRC, the count and strict ascending order.
 */
export function decodePostingsList(
  buf: Uint8Array,
  start: number,
  end: number,
  file: string,
  base: number,
  /** Decode into this array when it is large enough (the result is then a view of it). */
  into?: Uint32Array,
): Uint32Array {
  if (start + 8 > end)
    fail(file, base, 'ERR_TSDB_TRUNCATED', 'postings list header runs past the data', start);
  const len = be32At(buf, start);
  if (len < 4 || len % 4 !== 0)
    fail(file, base, 'ERR_TSDB_CORRUPT', `postings list length ${len} is not 4 + 4n`, start);
  const bodyEnd = start + 4 + len;
  if (bodyEnd + 4 > end)
    fail(file, base, 'ERR_TSDB_TRUNCATED', `postings list of ${len} bytes runs past the data`, start);
  if (crc32cRange(buf, start + 4, bodyEnd) !== be32At(buf, bodyEnd)) {
    fail(file, base, 'ERR_TSDB_CHECKSUM', 'postings list checksum mismatch', start);
  }
  const n = be32At(buf, start + 4);
  if (len !== 4 + 4 * n)
    fail(file, base, 'ERR_TSDB_CORRUPT', `postings list of ${len} bytes claims ${n} entries`, start + 4);
  const ids = into !== undefined && into.length >= n ? into.subarray(0, n) : new Uint32Array(n);
  let p = start + 8;
  let prev = -1;
  for (let i = 0; i < n; i++, p += 4) {
    const id = be32At(buf, p);
    if (id <= prev)
      fail(file, base, 'ERR_TSDB_CORRUPT', `postings not strictly ascending: ${id} after ${prev}`, p);
    ids[i] = id;
    prev = id;
  }
  return ids;
}

function fail(file: string, base: number, code: ErrorCode, detail: string, at: number): never {
  throw new FormatError(code, file, base + at, detail);
}

/** First index in `a[lo..)` with a[i] >= x (galloping, then binary search). */
function seek(a: Uint32Array, lo: number, x: number): number {
  if (lo >= a.length || a[lo]! >= x) return lo;
  let below = lo; // a[below] < x
  let step = 1;
  let hi = lo + 1;
  while (hi < a.length && a[hi]! < x) {
    below = hi;
    step *= 2;
    hi = below + step;
  }
  if (hi > a.length) hi = a.length;
  lo = below + 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function intersect(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length > b.length) [a, b] = [b, a];
  const out = new Uint32Array(a.length);
  let n = 0;
  let j = 0;
  for (let i = 0; i < a.length && j < b.length; i++) {
    const x = a[i]!;
    j = seek(b, j, x);
    if (j < b.length && b[j] === x) out[n++] = x;
  }
  return out.subarray(0, n);
}

/** Elements of `a` not in `b`. */
export function without(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (b.length === 0 || a.length === 0) return a;
  const out = new Uint32Array(a.length);
  let n = 0;
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    j = seek(b, j, x);
    if (j >= b.length || b[j] !== x) out[n++] = x;
  }
  return out.subarray(0, n);
}

/** Sorted union of sorted lists. */
export function union(lists: readonly Uint32Array[]): Uint32Array {
  if (lists.length === 0) return EMPTY_POSTINGS;
  if (lists.length === 1) return lists[0]!;
  let total = 0;
  for (const l of lists) total += l.length;
  const all = new Uint32Array(total);
  let off = 0;
  for (const l of lists) {
    all.set(l, off);
    off += l.length;
  }
  all.sort();
  let n = 0;
  for (let i = 0; i < total; i++) {
    if (i === 0 || all[i] !== all[n - 1]) all[n++] = all[i]!;
  }
  return all.subarray(0, n);
}
