/**
 * The fetcher's memory for known blocks: a million compacted metas as plain objects cost ~680
 * bytes each (about ten objects per block; Node's heap has 8-byte pointers), so a tenant's metas
 * of the usual shape (meta-shape.ts) live in typed-array rows instead, ~100 bytes each, and each
 * block keeps one small object (`PackedMeta`: its ULID and row) whose getters build the nested
 * sections on access. Shared values (label sets, sources, segment lists, file-name lists) are
 * stored once per table. Rows are never reused: a `PackedMeta` a caller still holds reads the
 * same row for as long as it lives, and a table with many dead rows is replaced, not compacted.
 */
import type { BlockCompaction, BlockMeta, BlockStats, ThanosFile, ThanosMeta } from '../../tsdb/meta.js';
import { EMPTY_INDEX_STATS } from './meta-read.js';
import { isCommonShape } from './meta-shape.js';
import { grownTo } from '../../util/typed-arrays.js';
import {
  exactUploadTimeMs,
  uploadTimeForm,
  uploadTimeText,
  type UploadTimeForm,
} from '../../tsdb/upload-time.js';

/** f64 per row: minTime, maxTime, numSamples, upload_time as milliseconds (see the flags). */
const F = 4;
/**
 * u32 per row: level, labels, source, downsample, segments, file names, first size, upload_time
 * text at, numSeries, numChunks, numTombstones (a meta whose counts do not fit is kept whole).
 */
const U = 11;
const NONE = 0xffffffff;
/** Bytes per row: upload_time text length + 1 (0: none, or kept as milliseconds), flags. */
const B = 2;
const FLAG_SELF_SOURCE = 1;
const FLAG_INDEX_STATS = 2;
/** upload_time kept as milliseconds, in the form uploadTimeText gives back (flags × this). */
const FLAG_UPLOAD_FORM = 4;
const FLAG_UPLOAD_MASK = FLAG_UPLOAD_FORM * 3;
/** Longest upload_time kept in the byte arena (RFC 3339 with nanoseconds and an offset is 35). */
const MAX_UPLOAD_LEN = 254;
const EMPTY = Buffer.alloc(0);

interface FileNames {
  readonly names: readonly string[];
  /** Which entries carry a size (meta.json is listed without one). */
  readonly sized: readonly boolean[];
  readonly nSized: number;
}

/** Rows per page. Rows are numbered below 2^32, so `>>> PAGE_BITS` finds the page. */
const PAGE_BITS = 10;
const PAGE_ROWS = 1 << PAGE_BITS;

/**
 * Up to PAGE_ROWS rows. Full pages never move; only a table's last page grows (by 1.5×, from 16
 * rows), so a tenant with few blocks costs little and a big one never copies more than a page.
 */
class Page {
  readonly table: MetaTable;
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

  constructor(table: MetaTable, cap: number) {
    this.table = table;
    this.cap = cap;
    this.f64 = new Float64Array(cap * F);
    this.u32 = new Uint32Array(cap * U);
    this.u8 = new Uint8Array(cap * B);
    this.sizes = new Uint32Array(cap * 2);
  }

  grow(cap: number): void {
    this.f64 = grownTo(this.f64, cap * F);
    this.u32 = grownTo(this.u32, cap * U);
    this.u8 = grownTo(this.u8, cap * B);
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
    if (this.nUploads + s.length > this.uploads.length) {
      const next = Buffer.alloc(
        Math.max(Math.ceil(this.uploads.length * 1.5), this.nUploads + s.length, this.cap * 24),
      );
      this.uploads.copy(next, 0, 0, this.nUploads);
      this.uploads = next;
    }
    const at = this.nUploads;
    this.nUploads += this.uploads.write(s, at, 'latin1');
    return at;
  }

  /** The file list of row `i` (one new array of entries per call). */
  filesOf(i: number): ThanosFile[] | undefined {
    const ref = this.u32[i * U + 5]!;
    if (ref === NONE) return undefined;
    const fn = this.table.refs[ref] as FileNames;
    let at = this.u32[i * U + 6]!;
    const out = new Array<ThanosFile>(fn.names.length);
    for (let j = 0; j < fn.names.length; j++) {
      out[j] = fn.sized[j]
        ? { rel_path: fn.names[j]!, size_bytes: this.sizes[at++]! }
        : { rel_path: fn.names[j]! };
    }
    return out;
  }
}

export class MetaTable {
  #rows = 0;
  readonly #pages: Page[] = [];
  /** Shared values by reference number, and the reverse. */
  readonly refs: unknown[] = [];
  readonly #refIds = new Map<unknown, number>();
  readonly #fileNames = new Map<string, FileNames>();
  #lastFileNames: FileNames | undefined;

  /** Rows written, live or not. */
  get rows(): number {
    return this.#rows;
  }

  /** The meta as a row of this table, or the meta itself when its shape is not the usual one. */
  pack(meta: BlockMeta): BlockMeta {
    if (meta instanceof PackedMeta && meta.isIn(this)) return meta;
    const t = meta.thanos;
    if (t === undefined || !isCommonShape(meta)) return meta;
    const up = t.upload_time;
    if (up !== undefined && (up.length > MAX_UPLOAD_LEN || !isAscii(up))) return meta;
    const level = meta.compaction.level;
    if (level > 0xffff) return meta;
    const s = meta.stats;
    if (!isU32(s.numSeries) || !isU32(s.numChunks) || !isU32(s.numTombstones)) return meta;
    if (t.files !== undefined) {
      for (const f of t.files) if (f.size_bytes !== undefined && !isU32(f.size_bytes)) return meta;
    }
    const upMs = up === undefined ? NaN : exactUploadTimeMs(up);
    const p = this.#lastPage();
    const i = this.#rows++ & (PAGE_ROWS - 1);
    const f = p.f64;
    const fo = i * F;
    f[fo] = meta.minTime;
    f[fo + 1] = meta.maxTime;
    f[fo + 2] = s.numSamples;
    f[fo + 3] = upMs;
    const u = p.u32;
    const uo = i * U;
    u[uo] = level;
    u[uo + 1] = this.#ref(t.labels);
    u[uo + 2] = this.#ref(t.source);
    u[uo + 3] = this.#ref(t.downsample);
    u[uo + 4] = t.segment_files === undefined ? NONE : this.#ref(t.segment_files);
    u[uo + 5] = t.files === undefined ? NONE : this.#files(p, uo, t.files);
    const upText = up !== undefined && Number.isNaN(upMs);
    u[uo + 7] = upText ? p.addUpload(up) : 0;
    u[uo + 8] = s.numSeries;
    u[uo + 9] = s.numChunks;
    u[uo + 10] = s.numTombstones;
    const src = meta.compaction.sources;
    const self = src.length === 1 && src[0] === meta.ulid;
    if (!self) p.sources.set(i, src);
    const b = p.u8;
    b[i * B] = upText ? up.length + 1 : 0;
    b[i * B + 1] =
      (self ? FLAG_SELF_SOURCE : 0) |
      (t.index_stats !== undefined ? FLAG_INDEX_STATS : 0) |
      (up !== undefined && !upText ? uploadTimeForm(up) * FLAG_UPLOAD_FORM : 0);
    return new PackedMeta(meta.ulid, p, i);
  }

  /** The page the next row goes to (grown or added when full). */
  #lastPage(): Page {
    const r = this.#rows;
    let p = this.#pages[r >>> PAGE_BITS];
    if (p === undefined) {
      p = new Page(this, r === 0 ? 16 : PAGE_ROWS);
      this.#pages.push(p);
    } else if ((r & (PAGE_ROWS - 1)) === p.cap) {
      p.grow(Math.min(PAGE_ROWS, Math.ceil(p.cap * 1.5)));
    }
    return p;
  }

  #ref(v: unknown): number {
    let id = this.#refIds.get(v);
    if (id === undefined) {
      id = this.refs.length;
      this.refs.push(v);
      this.#refIds.set(v, id);
    }
    return id;
  }

  /** Stores the sizes in the page (their start at u32[uo + 6]); returns the names' reference. */
  #files(p: Page, uo: number, files: readonly ThanosFile[]): number {
    // A tenant's blocks mostly list the same files: the previous block's list is checked first,
    // without building the lookup key (a string per block).
    let names = this.#lastFileNames;
    if (names === undefined || !sameFileNames(names, files)) {
      let key = '';
      for (const f of files) key += `${f.size_bytes === undefined ? '-' : '+'}${f.rel_path}\u0000`;
      names = this.#fileNames.get(key);
      if (names === undefined) {
        names = {
          names: files.map((f) => f.rel_path),
          sized: files.map((f) => f.size_bytes !== undefined),
          nSized: files.filter((f) => f.size_bytes !== undefined).length,
        };
        this.#fileNames.set(key, names);
      }
      this.#lastFileNames = names;
    }
    let at = p.addSizes(names.nSized);
    p.u32[uo + 6] = at;
    for (const f of files) if (f.size_bytes !== undefined) p.sizes[at++] = f.size_bytes;
    return this.#ref(names);
  }
}

function sameFileNames(n: FileNames, files: readonly ThanosFile[]): boolean {
  if (n.names.length !== files.length) return false;
  for (let j = 0; j < files.length; j++) {
    const f = files[j]!;
    if (f.rel_path !== n.names[j] || (f.size_bytes !== undefined) !== n.sized[j]) return false;
  }
  return true;
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v < NONE;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * One block's meta, read from its table row. Its nested sections are new objects on each access
 * (their shared parts, labels included, are the same objects every time); `toJSON` gives the
 * plain meta, so JSON.stringify writes what a plain compacted meta would.
 */
export class PackedMeta implements BlockMeta {
  readonly ulid: string;
  readonly #p: Page;
  readonly #i: number;

  constructor(ulid: string, page: Page, i: number) {
    this.ulid = ulid;
    this.#p = page;
    this.#i = i;
  }

  /** Whether this meta is a row of `table`. */
  isIn(table: MetaTable): boolean {
    return this.#p.table === table;
  }

  get version(): 1 {
    return 1;
  }
  get minTime(): number {
    return this.#p.f64[this.#i * F]!;
  }
  get maxTime(): number {
    return this.#p.f64[this.#i * F + 1]!;
  }
  get stats(): BlockStats {
    const u = this.#p.u32;
    const o = this.#i * U;
    return {
      numSamples: this.#p.f64[this.#i * F + 2]!,
      numSeries: u[o + 8]!,
      numChunks: u[o + 9]!,
      numTombstones: u[o + 10]!,
    };
  }
  get compaction(): BlockCompaction {
    const self = (this.#p.u8[this.#i * B + 1]! & FLAG_SELF_SOURCE) !== 0;
    const sources = self ? [this.ulid] : [...(this.#p.sources.get(this.#i) ?? [])];
    return { level: this.#p.u32[this.#i * U]!, sources };
  }
  get thanos(): ThanosMeta {
    return new PackedThanos(this.#p, this.#i);
  }

  /** thanos.upload_time as milliseconds when the row keeps it so (Date.parse of the text), else NaN. */
  uploadTimeMs(): number {
    return (this.#p.u8[this.#i * B + 1]! & FLAG_UPLOAD_MASK) === 0 ? NaN : this.#p.f64[this.#i * F + 3]!;
  }

  /** The plain compacted meta (compactMeta's shape and key order). */
  toJSON(): BlockMeta {
    return {
      ulid: this.ulid,
      minTime: this.minTime,
      maxTime: this.maxTime,
      stats: this.stats,
      compaction: this.compaction,
      version: 1,
      thanos: new PackedThanos(this.#p, this.#i).toJSON(),
    };
  }
}

/** The thanos section of a packed meta; `files` and `upload_time` are built when read. */
class PackedThanos implements ThanosMeta {
  readonly #p: Page;
  readonly #i: number;

  constructor(page: Page, i: number) {
    this.#p = page;
    this.#i = i;
  }

  #ref(col: number): unknown {
    return this.#p.table.refs[this.#p.u32[this.#i * U + col]!];
  }
  get labels(): Record<string, string> {
    return this.#ref(1) as Record<string, string>;
  }
  get source(): string {
    return this.#ref(2) as string;
  }
  get downsample(): { resolution: number } {
    return this.#ref(3) as { resolution: number };
  }
  get segment_files(): string[] | undefined {
    return this.#p.u32[this.#i * U + 4] === NONE ? undefined : (this.#ref(4) as string[]);
  }
  get files(): ThanosFile[] | undefined {
    return this.#p.filesOf(this.#i);
  }
  get index_stats(): Record<string, never> | undefined {
    return (this.#p.u8[this.#i * B + 1]! & FLAG_INDEX_STATS) !== 0 ? EMPTY_INDEX_STATS : undefined;
  }
  get upload_time(): string | undefined {
    const n = this.#p.u8[this.#i * B]!;
    if (n === 0) {
      const form = (this.#p.u8[this.#i * B + 1]! & FLAG_UPLOAD_MASK) / FLAG_UPLOAD_FORM;
      return form === 0 ? undefined : uploadTimeText(this.#p.f64[this.#i * F + 3]!, form as UploadTimeForm);
    }
    const at = this.#p.u32[this.#i * U + 7]!;
    return this.#p.uploads.toString('latin1', at, at + n - 1);
  }

  /** compactMeta's usual shape: only the sections present. */
  toJSON(): ThanosMeta {
    const out: ThanosMeta = { labels: this.labels, downsample: this.downsample, source: this.source };
    const seg = this.segment_files;
    if (seg !== undefined) out.segment_files = seg;
    const files = this.files;
    if (files !== undefined) out.files = files;
    const is = this.index_stats;
    if (is !== undefined) out.index_stats = is;
    const up = this.upload_time;
    if (up !== undefined) out.upload_time = up;
    return out;
  }
}
