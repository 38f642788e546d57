/**
 * The rows of a meta table (meta-table.ts): their layout in typed arrays, a page of them, and
 * the shared values (shapes, file-name lists) rows refer to by number.
 */
import type { ThanosFile } from '../../tsdb/meta.js';
import { grownTo } from '../../util/typed-arrays.js';

/** f64 per row: minTime, maxTime, numSamples, upload_time as milliseconds (see the flags). */
export const F = 4;
/**
 * u32 per row: level, shape, first size, upload_time text at, numSeries, numChunks, numTombstones
 * (a meta whose counts do not fit is kept whole).
 */
export const U = 7;
export const NONE = 0xffffffff;
/** Bytes per row: upload_time text length + 1 (0: none, or kept as milliseconds), flags. */
export const B = 2;
export const FLAG_SELF_SOURCE = 1;
export const FLAG_INDEX_STATS = 2;
/** upload_time kept as milliseconds, in the form uploadTimeText gives back (flags × this). */
export const FLAG_UPLOAD_FORM = 4;
export const FLAG_UPLOAD_MASK = FLAG_UPLOAD_FORM * 3;
/** Longest upload_time kept in the byte arena (RFC 3339 with nanoseconds and an offset is 35). */
export const MAX_UPLOAD_LEN = 254;
const EMPTY = Buffer.alloc(0);

export interface FileNames {
  readonly names: readonly string[];
  /** Which entries carry a size (meta.json is listed without one). */
  readonly sized: readonly boolean[];
  readonly nSized: number;
}

/**
 * What most blocks of a tenant share (labels, source, resolution, segment and file names): one
 * object per distinct combination in a table, and a row refers to it by number.
 */
export interface Shape {
  readonly labels: Record<string, string>;
  readonly source: string;
  readonly downsample: { resolution: number };
  readonly segments: string[] | undefined;
  readonly files: FileNames | undefined;
}

/** The three row arrays of `cap` rows over one buffer (one allocation per page, not three). */
function rowArrays(cap: number): [Float64Array, Uint32Array, Uint8Array] {
  const buf = new ArrayBuffer(cap * (F * 8 + U * 4 + B));
  const u32At = cap * F * 8;
  return [
    new Float64Array(buf, 0, cap * F),
    new Uint32Array(buf, u32At, cap * U),
    new Uint8Array(buf, u32At + cap * U * 4, cap * B),
  ];
}

/** Rows per page. Rows are numbered below 2^32, so `>>> PAGE_BITS` finds the page. */
export const PAGE_BITS = 10;
export const PAGE_ROWS = 1 << PAGE_BITS;

/**
 * Up to PAGE_ROWS rows. Full pages never move; only a table's last page grows (by 1.5×, from 16
 * rows), so a tenant with few blocks costs little and a big one never copies more than a page.
 */
export class Page {
  /** The table the page belongs to (what PackedMeta#isIn compares), and its shapes. */
  readonly owner: object;
  readonly shapes: readonly Shape[];
  cap: number;
  f64: Float64Array;
  u32: Uint32Array;
  u8: Uint8Array;
  /** File sizes of the page's rows, in row order (a meta with a file of 4 GiB or more is kept whole). */
  sizes: Uint32Array;
  nSizes = 0;
  /** upload_time texts (of rows that do not keep it as milliseconds), in row order. */
  uploads = EMPTY;
  nUploads = 0;
  /** Sources of rows whose block is not its own single source (compacted blocks), by row. */
  readonly sources = new Map<number, readonly string[]>();

  constructor(owner: object, shapes: readonly Shape[], cap: number) {
    this.owner = owner;
    this.shapes = shapes;
    this.cap = cap;
    [this.f64, this.u32, this.u8] = rowArrays(cap);
    this.sizes = new Uint32Array(cap * 2);
  }

  grow(cap: number): void {
    const [f64, u32, u8] = rowArrays(cap);
    f64.set(this.f64);
    u32.set(this.u32);
    u8.set(this.u8);
    this.f64 = f64;
    this.u32 = u32;
    this.u8 = u8;
    this.cap = cap;
  }

  addSizes(n: number): number {
    if (this.nSizes + n > this.sizes.length) {
      this.sizes = grownTo(this.sizes, Math.max(Math.ceil(this.sizes.length * 1.5), this.nSizes + n));
    }
    const at = this.nSizes;
    this.nSizes += n;
    return at;
  }

  addUpload(s: string): number {
    this.#uploadRoom(s.length);
    const at = this.nUploads;
    this.nUploads += this.uploads.write(s, at, 'latin1');
    return at;
  }

  /** addUpload of `len` latin1 bytes of `src` at `from` (a metas file's upload texts). */
  addUploadBytes(src: Uint8Array, from: number, len: number): number {
    this.#uploadRoom(len);
    const at = this.nUploads;
    this.uploads.set(src.subarray(from, from + len), at);
    this.nUploads += len;
    return at;
  }

  #uploadRoom(n: number): void {
    if (this.nUploads + n <= this.uploads.length) return;
    const next = Buffer.alloc(
      Math.max(Math.ceil(this.uploads.length * 1.5), this.nUploads + n, this.cap * 24),
    );
    this.uploads.copy(next, 0, 0, this.nUploads);
    this.uploads = next;
  }

  /** The file list of row `i` (one new array of entries per call). */
  filesOf(i: number): ThanosFile[] | undefined {
    const fn = this.shapeOf(i).files;
    if (fn === undefined) return undefined;
    let at = this.u32[i * U + 2]!;
    const out = new Array<ThanosFile>(fn.names.length);
    for (let j = 0; j < fn.names.length; j++) {
      out[j] = fn.sized[j]
        ? { rel_path: fn.names[j]!, size_bytes: this.sizes[at++]! }
        : { rel_path: fn.names[j]! };
    }
    return out;
  }

  shapeOf(i: number): Shape {
    return this.shapes[this.u32[i * U + 1]!]!;
  }
}
