/**
 * Decoding the metas file's frames (format: metas-codec.ts): a tenant's rows are copied into its
 * meta table page by page, so a restart builds one small object per block (its PackedMeta) and
 * decodes no field of it.
 */
import type { BlockMeta } from '../../tsdb/meta.js';
import { copyLe } from '../../util/typed-arrays.js';
import { classifyMeta, type Interner } from './meta-read.js';
import { B, F, PAGE_ROWS, U, type FileNames } from './meta-page.js';
import type { MetaTable, StoredRows } from './meta-table.js';
import { NONE, ULID_LEN } from './metas-codec.js';

/** Thrown on any inconsistency inside a frame whose checksum matched (a bug or a collision). */
export class FrameDecodeError extends Error {}

/**
 * A bounds-checked reader over one payload. Through a DataView (little-endian fields): its getters
 * are single built-in calls, where Buffer's readers are JS functions a restart runs cold per field.
 */
class Source {
  off = 0;
  readonly #dv: DataView;
  readonly #len: number;
  constructor(readonly buf: Buffer) {
    this.#dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    this.#len = buf.length;
  }

  #at(n: number): number {
    const at = this.off;
    if (at + n > this.#len) throw new FrameDecodeError(`frame ends early at ${at}`);
    this.off = at + n;
    return at;
  }
  u8(): number {
    return this.#dv.getUint8(this.#at(1));
  }
  u32(): number {
    return this.#dv.getUint32(this.#at(4), true);
  }
  f64(): number {
    return this.#dv.getFloat64(this.#at(8), true);
  }
  /** A u32 count of items of at least `each` bytes, checked to fit in what is left. */
  count(each: number): number {
    return this.fits(this.u32(), each);
  }
  /** n, when n items of at least `each` bytes fit in what is left. */
  fits(n: number, each: number): number {
    if (n * each > this.#len - this.off)
      throw new FrameDecodeError(`count ${n} before ${this.off} overruns the frame`);
    return n;
  }
  /** Moves past n bytes (bounds-checked); returns where they start. */
  skip(n: number): number {
    return this.#at(n);
  }
  utf8(): string {
    const n = this.u32();
    const at = this.#at(n);
    return this.buf.toString('utf8', at, at + n);
  }
  latin1(n: number): string {
    const at = this.#at(n);
    return this.buf.toString('latin1', at, at + n);
  }
}

/** The frame's string table, label sets and interned string lists. */
interface FrameRefs {
  readonly str: (i: number) => string;
  readonly labelSet: (i: number) => Record<string, string>;
  readonly stringList: (list: string[]) => string[];
}

/**
 * Decodes one verified payload. Metas of the usual shape become rows of `tableOf(tenant)` and are
 * given to `add` as its packed metas; the others are given as compacted plain metas.
 */
export function decodeFrame(
  payload: Buffer,
  interner: Interner,
  tableOf: (tenant: string) => MetaTable,
  add: (tenant: string, meta: BlockMeta) => void,
): void {
  const r = new Source(payload);
  const strings: string[] = new Array<string>(r.count(4));
  for (let i = 0; i < strings.length; i++) strings[i] = r.utf8();
  // Interned once per frame (names, sources, tenants), not once per use.
  const interned: (string | undefined)[] = new Array<string | undefined>(strings.length);
  const str = (i: number): string => {
    const v = strings[i];
    if (v === undefined) throw new FrameDecodeError(`string ${i} out of range`);
    return (interned[i] ??= interner.string(v));
  };
  const labelSets: Record<string, string>[] = new Array<Record<string, string>>(r.count(4));
  for (let i = 0; i < labelSets.length; i++) {
    const n = r.count(8);
    const ls: Record<string, string> = {};
    for (let j = 0; j < n; j++) {
      const name = str(r.u32());
      ls[name] = str(r.u32());
    }
    labelSets[i] = interner.labels(ls);
  }
  const seen = new Map<string, string[]>();
  const refs: FrameRefs = {
    str,
    labelSet: (i) => {
      const ls = labelSets[i];
      if (ls === undefined) throw new FrameDecodeError(`label set ${i} out of range`);
      return ls;
    },
    stringList: (list) => {
      const key = list.join('\u0000');
      let hit = seen.get(key);
      if (hit === undefined) seen.set(key, (hit = interner.stringList(list)));
      return hit;
    },
  };
  const nTenants = r.u32();
  for (let ti = 0; ti < nTenants; ti++) {
    const tenant = str(r.u32());
    const table = tableOf(tenant);
    const nShapes = r.count(24);
    const shapes = new Array<number>(nShapes);
    const nSized = new Array<number>(nShapes);
    for (let k = 0; k < nShapes; k++) {
      const files = decodeShape(r, refs, interner, table, shapes, k);
      nSized[k] = files?.nSized ?? 0;
    }
    const nRows = r.u32();
    const idsAt = r.skip(nRows * ULID_LEN);
    const keep = (m: BlockMeta): void => add(tenant, m);
    const ids: string[] = [];
    for (let first = 0; first < nRows; first += PAGE_ROWS) {
      const rows = Math.min(PAGE_ROWS, nRows - first);
      ids.length = rows;
      for (let i = 0; i < rows; i++) {
        const at = idsAt + (first + i) * ULID_LEN;
        ids[i] = payload.toString('latin1', at, at + ULID_LEN);
      }
      table.importRows(storedRows(r, rows, shapes, nSized), ids, keep);
    }
    const nJson = r.count(ULID_LEN + 4);
    for (let i = 0; i < nJson; i++) {
      const id = r.latin1(ULID_LEN);
      const o = classifyMeta(id, r.utf8(), `metas file: ${tenant}/${id}`, interner);
      if (o.kind !== 'loaded') throw new FrameDecodeError(`block ${id}: ${o.detail}`);
      add(tenant, o.meta);
    }
  }
  if (r.off !== payload.length)
    throw new FrameDecodeError(`${payload.length - r.off} bytes after the last tenant`);
}

/** Reads shape k of the frame into `shapes` (the table's number for it); its file names. */
function decodeShape(
  r: Source,
  refs: FrameRefs,
  interner: Interner,
  table: MetaTable,
  shapes: number[],
  k: number,
): FileNames | undefined {
  const labels = refs.labelSet(r.u32());
  const source = refs.str(r.u32());
  const downsample = interner.downsample(r.f64());
  const nSeg = r.u32();
  let segments: string[] | undefined;
  if (nSeg !== NONE) {
    const list = new Array<string>(r.fits(nSeg, 4));
    for (let j = 0; j < nSeg; j++) list[j] = refs.str(r.u32());
    segments = refs.stringList(list);
  }
  const nFiles = r.u32();
  let files: FileNames | undefined;
  if (nFiles !== NONE) {
    const names = new Array<string>(r.fits(nFiles, 5));
    const sized = new Array<boolean>(nFiles);
    for (let j = 0; j < nFiles; j++) {
      names[j] = refs.str(r.u32());
      sized[j] = r.u8() === 1;
    }
    files = table.fileNames(names, sized);
  }
  shapes[k] = table.shapeId(labels, source, downsample, segments, files);
  return files;
}

/** One stored page of `rows` rows, read in place (its arrays stay in the payload). */
function storedRows(
  r: Source,
  rows: number,
  shapes: readonly number[],
  nSized: readonly number[],
): StoredRows {
  const f64At = r.skip(rows * F * 8);
  const u32At = r.skip(rows * U * 4);
  const u8At = r.skip(rows * B);
  const n = r.u32();
  const sizesAt = r.skip(n * 4);
  const sizes = new Uint32Array(n);
  copyLe(sizes, 0, r.buf, sizesAt, n);
  const nUp = r.u32();
  const upAt = r.skip(nUp);
  const nSources = r.count(8);
  const sources = new Map<number, readonly string[]>();
  for (let i = 0; i < nSources; i++) {
    const row = r.u32();
    if (row >= rows) throw new FrameDecodeError(`sources of row ${row} of ${rows}`);
    // Kept by the table as it is (a compacted block's sources).
    const list = new Array<string>(r.count(4));
    for (let j = 0; j < list.length; j++) list[j] = r.utf8();
    sources.set(row, list);
  }
  return {
    rows,
    bytes: r.buf,
    f64At,
    u32At,
    u8At,
    sizes,
    uploads: r.buf.subarray(upAt, upAt + nUp),
    sources,
    shapes,
    nSized,
  };
}
