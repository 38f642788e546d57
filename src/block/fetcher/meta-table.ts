/**
 * The fetcher's memory for known blocks: a million compacted metas as plain objects cost ~680
 * bytes each (about ten objects per block; Node's heap has 8-byte pointers), so a tenant's metas
 * of the usual shape (meta-shape.ts) live in typed-array rows instead (~70 bytes each, layout in
 * meta-page.ts), and each block keeps one small object (`PackedMeta`: its ULID and row) whose
 * getters build the nested sections on access. Shared values (label sets, sources, segment
 * lists, file-name lists) are stored once per table, as shapes. Rows are never reused: a
 * `PackedMeta` a caller still holds reads the same row for as long as it lives, and a table with
 * many dead rows is replaced, not compacted.
 */
import type { BlockMeta, ThanosFile } from '../../tsdb/meta.js';
import { exactUploadTimeMs, uploadTimeForm } from '../../tsdb/upload-time.js';
import { isCommonShape } from './meta-shape.js';
import {
  B,
  F,
  FLAG_INDEX_STATS,
  FLAG_SELF_SOURCE,
  FLAG_UPLOAD_FORM,
  MAX_UPLOAD_LEN,
  NONE,
  Page,
  PAGE_BITS,
  PAGE_ROWS,
  U,
  type FileNames,
  type Shape,
} from './meta-page.js';
import { PackedMeta } from './packed-meta.js';
import { copyLe } from '../../util/typed-arrays.js';

/**
 * One page of rows as the metas file stores them (metas-codec.ts): the row arrays of meta-page.ts
 * as little-endian bytes in `bytes`, whose shape numbers, size and text offsets and source rows
 * refer to the page's own sizes, texts and sources and the file's shapes.
 */
export interface StoredRows {
  readonly rows: number;
  readonly bytes: Uint8Array;
  readonly f64At: number;
  readonly u32At: number;
  readonly u8At: number;
  readonly sizes: Uint32Array;
  readonly uploads: Uint8Array;
  readonly sources: ReadonlyMap<number, readonly string[]>;
  /** By the file's shape number: this table's shape number, and the sized files of the shape. */
  readonly shapes: readonly number[];
  readonly nSized: readonly number[];
}

export class MetaTable {
  #rows = 0;
  readonly #pages: Page[] = [];
  /** Shapes by number, and their numbers by the numbers of their parts. */
  readonly shapes: Shape[] = [];
  readonly #shapeIds = new Map<string, number>();
  #lastShape = -1;
  /** Numbers of the shared values shapes are made of (by identity; strings by value). */
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
    // Indexed loops on this path: a for-of allocates an iterator and a result per step until
    // V8 optimizes it, and a restart runs it cold for every block.
    const files = t.files;
    if (files !== undefined) {
      for (let j = 0; j < files.length; j++) {
        const size = files[j]!.size_bytes;
        if (size !== undefined && !isU32(size)) return meta;
      }
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
    const names = files === undefined ? undefined : this.#files(p, uo, files);
    u[uo + 1] = this.shapeId(t.labels, t.source, t.downsample, t.segment_files, names);
    const upText = up !== undefined && Number.isNaN(upMs);
    u[uo + 3] = upText ? p.addUpload(up) : 0;
    u[uo + 4] = s.numSeries;
    u[uo + 5] = s.numChunks;
    u[uo + 6] = s.numTombstones;
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

  /** The pages: page k holds rows [k × PAGE_ROWS, (k + 1) × PAGE_ROWS) (what the metas file writes). */
  get pages(): readonly Page[] {
    return this.#pages;
  }

  /**
   * Appends rows as the metas file stores them (a page of another table, little-endian), each
   * given to `keep` as a packed meta with its ID. Checks every reference a row makes (shape,
   * sizes, upload text, sources) and throws on one out of range.
   */
  importRows(src: StoredRows, ids: readonly string[], keep: (m: PackedMeta) => void): void {
    let k = 0;
    while (k < src.rows) {
      this.reserve(src.rows - k);
      const p = this.#lastPage();
      const at = this.#rows & (PAGE_ROWS - 1);
      const n = Math.min(p.cap - at, src.rows - k);
      copyLe(p.f64, at * F, src.bytes, src.f64At + k * F * 8, n * F);
      copyLe(p.u32, at * U, src.bytes, src.u32At + k * U * 4, n * U);
      p.u8.set(src.bytes.subarray(src.u8At + k * B, src.u8At + (k + n) * B), at * B);
      // Counted before they are checked: rows of a frame refused halfway are dead, never reused.
      this.#rows += n;
      for (let j = 0; j < n; j++) keep(new PackedMeta(ids[k + j]!, p, this.#fixRow(p, at + j, src, k + j)));
      k += n;
    }
  }

  /** Points row `i` of `p`, copied from row `from` of `src`, at this table's shapes, sizes, texts. */
  #fixRow(p: Page, i: number, src: StoredRows, from: number): number {
    const u = p.u32;
    const uo = i * U;
    const fileShape = u[uo + 1]!;
    const shape = src.shapes[fileShape];
    if (shape === undefined) throw new Error(`row ${from}: shape ${fileShape} out of range`);
    u[uo + 1] = shape;
    const nSized = src.nSized[fileShape]!;
    if (nSized > 0) {
      const s = u[uo + 2]!;
      if (s + nSized > src.sizes.length) throw new Error(`row ${from}: sizes out of range`);
      const to = p.addSizes(nSized);
      p.sizes.set(src.sizes.subarray(s, s + nSized), to);
      u[uo + 2] = to;
    }
    const text = p.u8[i * B]!;
    if (text > 0) {
      const s = u[uo + 3]!;
      if (s + text - 1 > src.uploads.length) throw new Error(`row ${from}: upload_time out of range`);
      u[uo + 3] = p.addUploadBytes(src.uploads, s, text - 1);
    }
    const sources = src.sources.get(from);
    const self = (p.u8[i * B + 1]! & FLAG_SELF_SOURCE) !== 0;
    if (self !== (sources === undefined)) throw new Error(`row ${from}: sources do not match the row's flag`);
    if (sources !== undefined) p.sources.set(i, sources);
    return i;
  }

  /** The file-name list of these names and sized flags (one object per distinct list). */
  fileNames(names: readonly string[], sized: readonly boolean[]): FileNames {
    let key = '';
    for (let j = 0; j < names.length; j++) key += `${sized[j] ? '+' : '-'}${names[j]!}\u0000`;
    let out = this.#fileNames.get(key);
    if (out === undefined) {
      out = { names, sized, nSized: sized.filter((s) => s).length };
      this.#fileNames.set(key, out);
    }
    return out;
  }

  /**
   * Room for `n` more rows in the page the next row goes to (up to a full page): a restart knows
   * how many blocks of a tenant follow, so the page is not grown step by step from 16 rows.
   */
  reserve(n: number): void {
    const r = this.#rows;
    const want = Math.min(PAGE_ROWS, (r & (PAGE_ROWS - 1)) + n);
    const p = this.#pages[r >>> PAGE_BITS];
    if (p === undefined) this.#pages.push(new Page(this, this.shapes, Math.max(16, want)));
    else if (p.cap < want) p.grow(want);
  }

  /** The page the next row goes to (grown or added when full). */
  #lastPage(): Page {
    const r = this.#rows;
    let p = this.#pages[r >>> PAGE_BITS];
    if (p === undefined) {
      p = new Page(this, this.shapes, r === 0 ? 16 : PAGE_ROWS);
      this.#pages.push(p);
    } else if ((r & (PAGE_ROWS - 1)) === p.cap) {
      p.grow(Math.min(PAGE_ROWS, Math.ceil(p.cap * 1.5)));
    }
    return p;
  }

  /**
   * The number of the shape of these parts (labels, downsample and segments as interned; compared
   * by identity): the previous row's, mostly.
   */
  shapeId(
    labels: Record<string, string>,
    source: string,
    downsample: { resolution: number },
    segments: string[] | undefined,
    files: FileNames | undefined,
  ): number {
    const last = this.shapes[this.#lastShape];
    if (
      last !== undefined &&
      last.labels === labels &&
      last.source === source &&
      last.downsample === downsample &&
      last.segments === segments &&
      last.files === files
    ) {
      return this.#lastShape;
    }
    const key = `${this.#ref(labels)},${this.#ref(source)},${this.#ref(downsample)},${segments === undefined ? '' : this.#ref(segments)},${files === undefined ? '' : this.#ref(files)}`;
    let id = this.#shapeIds.get(key);
    if (id === undefined) {
      id = this.shapes.length;
      this.shapes.push({ labels, source, downsample, segments, files });
      this.#shapeIds.set(key, id);
    }
    this.#lastShape = id;
    return id;
  }

  #ref(v: unknown): number {
    let id = this.#refIds.get(v);
    if (id === undefined) {
      id = this.#refIds.size;
      this.#refIds.set(v, id);
    }
    return id;
  }

  /** Stores the sizes in the page (their start at u32[uo + 2]); returns the names. */
  #files(p: Page, uo: number, files: readonly ThanosFile[]): FileNames {
    // A tenant's blocks mostly list the same files: the previous block's list is checked first,
    // without building the lookup key (a string per block).
    let names = this.#lastFileNames;
    if (names === undefined || !sameFileNames(names, files)) {
      names = this.fileNames(
        files.map((f) => f.rel_path),
        files.map((f) => f.size_bytes !== undefined),
      );
      this.#lastFileNames = names;
    }
    let at = p.addSizes(names.nSized);
    p.u32[uo + 2] = at;
    const sizes = p.sizes;
    for (let j = 0; j < files.length; j++) {
      const size = files[j]!.size_bytes;
      if (size !== undefined) sizes[at++] = size;
    }
    return names;
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
