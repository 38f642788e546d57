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

/** f64 per row: minTime, maxTime, numSamples, numSeries, numChunks, numTombstones. */
const F = 6;
/** u32 per row: level, labels, source, downsample, segments, file names, first size, upload at. */
const U = 8;
const NONE = 0xffffffff;
/** Bytes per row: upload_time length + 1 (0: none), flags. */
const B = 2;
const FLAG_SELF_SOURCE = 1;
const FLAG_INDEX_STATS = 2;
/** Longest upload_time kept in the byte arena (RFC 3339 with nanoseconds and an offset is 35). */
const MAX_UPLOAD_LEN = 254;

interface FileNames {
  readonly names: readonly string[];
  /** Which entries carry a size (meta.json is listed without one). */
  readonly sized: readonly boolean[];
  readonly nSized: number;
}

export class MetaTable {
  #cap = 0;
  #rows = 0;
  f64 = new Float64Array(0);
  u32 = new Uint32Array(0);
  u8 = new Uint8Array(0);
  sizes = new Float64Array(1024);
  #nSizes = 0;
  uploads = Buffer.alloc(4096);
  #nUpload = 0;
  /** Shared values by reference number, and the reverse. */
  readonly refs: unknown[] = [];
  readonly #refIds = new Map<unknown, number>();
  readonly #fileNames = new Map<string, FileNames>();
  /** Sources of rows whose block is not its own single source (compacted blocks). */
  readonly sources = new Map<number, readonly string[]>();

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
    const r = this.#row();
    const f = this.f64;
    const fo = r * F;
    f[fo] = meta.minTime;
    f[fo + 1] = meta.maxTime;
    const s = meta.stats;
    f[fo + 2] = s.numSamples;
    f[fo + 3] = s.numSeries;
    f[fo + 4] = s.numChunks;
    f[fo + 5] = s.numTombstones;
    const u = this.u32;
    const uo = r * U;
    u[uo] = level;
    u[uo + 1] = this.#ref(t.labels);
    u[uo + 2] = this.#ref(t.source);
    u[uo + 3] = this.#ref(t.downsample);
    u[uo + 4] = t.segment_files === undefined ? NONE : this.#ref(t.segment_files);
    u[uo + 6] = this.#nSizes;
    u[uo + 5] = t.files === undefined ? NONE : this.#files(t.files);
    u[uo + 7] = up === undefined ? 0 : this.#upload(up);
    const src = meta.compaction.sources;
    const self = src.length === 1 && src[0] === meta.ulid;
    if (!self) this.sources.set(r, src);
    const b = this.u8;
    b[r * B] = up === undefined ? 0 : up.length + 1;
    b[r * B + 1] = (self ? FLAG_SELF_SOURCE : 0) | (t.index_stats !== undefined ? FLAG_INDEX_STATS : 0);
    return new PackedMeta(meta.ulid, this, r);
  }

  #row(): number {
    if (this.#rows === this.#cap) {
      // 1.5×: a tenant's table holds at most a third more rows than it needs.
      const cap = Math.max(64, Math.ceil(this.#cap * 1.5));
      this.f64 = grow(this.f64, cap * F);
      this.u32 = grow(this.u32, cap * U);
      this.u8 = grow(this.u8, cap * B);
      this.#cap = cap;
    }
    return this.#rows++;
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

  /** Stores the sizes and returns the reference of the list of names. */
  #files(files: readonly ThanosFile[]): number {
    let key = '';
    for (const f of files) key += `${f.size_bytes === undefined ? '-' : '+'}${f.rel_path}\u0000`;
    let names = this.#fileNames.get(key);
    if (names === undefined) {
      names = {
        names: files.map((f) => f.rel_path),
        sized: files.map((f) => f.size_bytes !== undefined),
        nSized: files.filter((f) => f.size_bytes !== undefined).length,
      };
      this.#fileNames.set(key, names);
    }
    if (this.#nSizes + names.nSized > this.sizes.length) {
      this.sizes = grow(this.sizes, Math.max(Math.ceil(this.sizes.length * 1.5), this.#nSizes + names.nSized));
    }
    for (const f of files) if (f.size_bytes !== undefined) this.sizes[this.#nSizes++] = f.size_bytes;
    return this.#ref(names);
  }

  #fileNamesAt(ref: number): FileNames {
    return this.refs[ref] as FileNames;
  }

  #upload(s: string): number {
    if (this.#nUpload + s.length > this.uploads.length) {
      const next = Buffer.alloc(Math.max(Math.ceil(this.uploads.length * 1.5), this.#nUpload + s.length));
      this.uploads.copy(next, 0, 0, this.#nUpload);
      this.uploads = next;
    }
    const at = this.#nUpload;
    this.#nUpload += this.uploads.write(s, at, 'latin1');
    return at;
  }

  /** The file list of a row (one new array of entries per call). */
  filesOf(r: number): ThanosFile[] | undefined {
    const ref = this.u32[r * U + 5]!;
    if (ref === NONE) return undefined;
    const fn = this.#fileNamesAt(ref);
    let at = this.u32[r * U + 6]!;
    const out = new Array<ThanosFile>(fn.names.length);
    for (let i = 0; i < fn.names.length; i++) {
      out[i] = fn.sized[i]
        ? { rel_path: fn.names[i]!, size_bytes: this.sizes[at++]! }
        : { rel_path: fn.names[i]! };
    }
    return out;
  }
}

function grow<T extends Float64Array | Uint32Array | Uint8Array>(a: T, len: number): T {
  const next = new (a.constructor as new (n: number) => T)(len);
  next.set(a);
  return next;
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
  readonly #t: MetaTable;
  readonly #r: number;

  constructor(ulid: string, table: MetaTable, row: number) {
    this.ulid = ulid;
    this.#t = table;
    this.#r = row;
  }

  /** Whether this meta is a row of `table`. */
  isIn(table: MetaTable): boolean {
    return this.#t === table;
  }

  get version(): 1 {
    return 1;
  }
  get minTime(): number {
    return this.#t.f64[this.#r * F]!;
  }
  get maxTime(): number {
    return this.#t.f64[this.#r * F + 1]!;
  }
  get stats(): BlockStats {
    const f = this.#t.f64;
    const o = this.#r * F;
    return { numSamples: f[o + 2]!, numSeries: f[o + 3]!, numChunks: f[o + 4]!, numTombstones: f[o + 5]! };
  }
  get compaction(): BlockCompaction {
    const self = (this.#t.u8[this.#r * B + 1]! & FLAG_SELF_SOURCE) !== 0;
    const sources = self ? [this.ulid] : [...(this.#t.sources.get(this.#r) ?? [])];
    return { level: this.#t.u32[this.#r * U]!, sources };
  }
  get thanos(): ThanosMeta {
    return new PackedThanos(this.#t, this.#r);
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
      thanos: new PackedThanos(this.#t, this.#r).toJSON(),
    };
  }
}

/** The thanos section of a packed meta; `files` and `upload_time` are built when read. */
class PackedThanos implements ThanosMeta {
  readonly #t: MetaTable;
  readonly #r: number;

  constructor(table: MetaTable, row: number) {
    this.#t = table;
    this.#r = row;
  }

  get labels(): Record<string, string> {
    return this.#t.refs[this.#t.u32[this.#r * U + 1]!] as Record<string, string>;
  }
  get source(): string {
    return this.#t.refs[this.#t.u32[this.#r * U + 2]!] as string;
  }
  get downsample(): { resolution: number } {
    return this.#t.refs[this.#t.u32[this.#r * U + 3]!] as { resolution: number };
  }
  get segment_files(): string[] | undefined {
    const ref = this.#t.u32[this.#r * U + 4]!;
    return ref === NONE ? undefined : (this.#t.refs[ref] as string[]);
  }
  get files(): ThanosFile[] | undefined {
    return this.#t.filesOf(this.#r);
  }
  get index_stats(): Record<string, never> | undefined {
    return (this.#t.u8[this.#r * B + 1]! & FLAG_INDEX_STATS) !== 0 ? EMPTY_INDEX_STATS : undefined;
  }
  get upload_time(): string | undefined {
    const n = this.#t.u8[this.#r * B]!;
    if (n === 0) return undefined;
    const at = this.#t.u32[this.#r * U + 7]!;
    return this.#t.uploads.toString('latin1', at, at + n - 1);
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
