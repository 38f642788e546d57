/**
 * Reader of index format v2 (and v3, which Prometheus >= 2.55 reads exactly like v2). open()
 * loads only the TOC, the symbol table and the postings offset table; series and postings lists
 * are read on demand with positional reads, every length checked against the file first.
 */
import { Decbuf } from '../encoding/decbuf.js';
import { crc32c } from '../encoding/crc32c.js';
import type { Labels } from '../labels.js';
import { FormatError, InvalidArgumentError } from '../../util/errors.js';
import { HEADER_LEN, SERIES_ALIGN, type ChunkMeta, type IndexToc } from './format.js';
import { readIndexLayout, sectionLength, seriesOffset } from './layout.js';
import { FileReader, type PositionalReader } from './positional.js';
import { DEFAULT_CURSOR_BUFFER, SeriesCursor } from './cursor.js';
import { union } from './postings.js';
import { readPostingsLists } from './postings-read.js';
import { decodePostingsTable, type NameEntries, type PostingsTable } from './postings-table.js';
import { SeriesScratch, decodeSeriesEntry } from './series.js';
import { decodeSymbols } from './symbols.js';
import { compareStrings } from '../labels.js';
import type { Matcher } from './matchers.js';
import { selectPostings } from './select.js';
import { validateIndex, type IndexValidation, type ValidateOptions } from './validate.js';

export interface IndexSeries {
  labels: Labels;
  chunks: ChunkMeta[];
}

/**
 * An optional cache of decoded postings lists (by file offset) and series (by ID) for one index;
 * the store gateway plugs its bounded LRU in here. Cached values are shared: never modify them.
 */
export interface IndexCache {
  getPostings(offset: number): Uint32Array | undefined;
  putPostings(offset: number, list: Uint32Array): void;
  getSeries(id: number): IndexSeries | undefined;
  putSeries(id: number, series: IndexSeries, entryBytes: number): void;
}

/** Initial read size for a series entry or a postings list; longer ones take a second read. */
const PROBE = 4096;
/** Series entries closer together than this are read with one read (seriesMany). */
const SERIES_GAP = 64 << 10;
/** Upper bound of one coalesced series read. */
const SERIES_MAX_READ = 16 << 20;

export class IndexReader {
  private closed = false;
  /** Set by the owner (the store's index cache); undefined: no caching. */
  cache: IndexCache | undefined;

  private constructor(
    readonly path: string,
    private readonly src: PositionalReader,
    /** File size in bytes. */
    readonly size: number,
    readonly version: number,
    readonly toc: IndexToc,
    private readonly syms: string[],
    /** Symbol refs whose bytes are not valid UTF-8. */
    readonly invalidUtf8Symbols: readonly number[],
    /** The postings offset table's bytes, decoded on first use (compaction never needs it). */
    private tableBytes: Buffer | undefined,
    /** File offset where the series section ends. */
    readonly seriesEnd: number,
  ) {}

  private decodedTable: PostingsTable | undefined;

  private get table(): PostingsTable {
    if (this.decodedTable === undefined) {
      const at = this.toc.postingsTable;
      this.decodedTable = decodePostingsTable(this.tableBytes!, this.path, at + 4, HEADER_LEN, at);
      this.tableBytes = undefined;
    }
    return this.decodedTable;
  }

  static async open(path: string): Promise<IndexReader> {
    return IndexReader.openReader(await FileReader.open(path));
  }

  /**
   * Opens the index read through `src` (a file, or a bucket object with range requests); the
   * reader owns `src` and closes it, also when opening fails.
   */
  static async openReader(src: PositionalReader): Promise<IndexReader> {
    try {
      return await IndexReader.load(src.name, src);
    } catch (err) {
      await src.close().catch(() => undefined);
      throw err;
    }
  }

  private static async load(path: string, fh: PositionalReader): Promise<IndexReader> {
    const { size, version, toc, tocAt, seriesEnd } = await readIndexLayout(fh, path);
    const sym = await readSection(fh, path, toc.symbols, tocAt, 'symbol table');
    const { symbols, invalidUtf8 } = decodeSymbols(sym, path, toc.symbols + 4);
    // Read (and CRC-checked) now, decoded when first used.
    const pt = await readSection(fh, path, toc.postingsTable, tocAt, 'postings offset table');
    return new IndexReader(path, fh, size, version, toc, symbols, invalidUtf8, pt, seriesEnd);
  }

  /** All symbols, ascending. Do not modify. */
  symbols(): readonly string[] {
    return this.syms;
  }

  symbol(ref: number): string {
    const s = this.syms[ref];
    if (s === undefined || !Number.isInteger(ref)) {
      throw new InvalidArgumentError(`index ${this.path}: no symbol ${ref} (${this.syms.length} symbols)`);
    }
    return s;
  }

  /** Label names in use, ascending (the all-postings key excluded). */
  labelNames(): string[] {
    const out: string[] = [];
    for (const n of this.table.names) if (n !== '') out.push(n);
    return out;
  }

  /** Values of `name`, ascending. */
  labelValues(name: string): string[] {
    if (name === '') return [];
    const e = this.table.byName.get(name);
    return e === undefined ? [] : e.values.slice();
  }

  /** Number of postings lists, the all-postings list included. */
  get numPostings(): number {
    return this.table.numEntries;
  }

  /** Table entries of one name (for verification); undefined when absent. */
  postingsEntries(name: string): NameEntries | undefined {
    return this.table.byName.get(name);
  }

  /** Names in the postings offset table, "" (all postings) included. */
  postingsNames(): readonly string[] {
    return this.table.names;
  }

  private offsetOf(name: string, value: string): number {
    const e = this.table.byName.get(name);
    if (e === undefined) return -1;
    const i = findValue(e.values, value);
    return i < 0 ? -1 : e.offsets[i]!;
  }

  /** Series IDs with label name=value, ascending; empty when absent. */
  async postings(name: string, value: string): Promise<Uint32Array> {
    this.checkOpen();
    const off = this.offsetOf(name, value);
    if (off < 0) return new Uint32Array(0);
    return (await this.postingsAt([off]))[0]!;
  }

  /** Every series ID, ascending. */
  allPostings(): Promise<Uint32Array> {
    return this.postings('', '');
  }

  /** Union of the postings of `name` for each of `values` (absent values are skipped). */
  async postingsForValues(name: string, values: readonly string[]): Promise<Uint32Array> {
    this.checkOpen();
    const e = this.table.byName.get(name);
    if (e === undefined) return new Uint32Array(0);
    const offsets: number[] = [];
    for (const v of values) {
      const i = findValue(e.values, v);
      if (i >= 0) offsets.push(e.offsets[i]!);
    }
    if (offsets.length === 0) return new Uint32Array(0);
    return union(await this.postingsAt(offsets));
  }

  /** Union of the postings of the values of `name` that `m` accepts (or rejects, if `rejected`). */
  async postingsWhere(name: string, m: Matcher, rejected: boolean): Promise<Uint32Array> {
    this.checkOpen();
    const e = name === '' ? undefined : this.table.byName.get(name);
    if (e === undefined) return new Uint32Array(0);
    const offsets: number[] = [];
    const values = e.values;
    for (let i = 0; i < values.length; i++) {
      if (m.matches(values[i]!) !== rejected) offsets.push(e.offsets[i]!);
    }
    if (offsets.length === 0) return new Uint32Array(0);
    return union(await this.postingsAt(offsets));
  }

  /**
   * Reads the postings lists at the given file offsets (results in the same order). Nearby
   * lists share one read; cached lists (see `cache`) are not read.
   */
  async postingsAt(offsets: readonly number[]): Promise<Uint32Array[]> {
    this.checkOpen();
    const cache = this.cache;
    if (cache === undefined) return this.readPostingsAt(offsets);
    const out = new Array<Uint32Array>(offsets.length);
    const missing: number[] = [];
    const where: number[] = [];
    for (let i = 0; i < offsets.length; i++) {
      const hit = cache.getPostings(offsets[i]!);
      if (hit !== undefined) out[i] = hit;
      else {
        missing.push(offsets[i]!);
        where.push(i);
      }
    }
    if (missing.length > 0) {
      const read = await this.readPostingsAt(missing);
      for (let k = 0; k < read.length; k++) {
        out[where[k]!] = read[k]!;
        cache.putPostings(missing[k]!, read[k]!);
      }
    }
    return out;
  }

  private readPostingsAt(offsets: readonly number[]): Promise<Uint32Array[]> {
    return readPostingsLists(this.src, this.path, HEADER_LEN, this.toc.postingsTable, offsets);
  }

  /** One series by ID (CRC-checked). Bad IDs are FormatErrors naming the offset. */
  async series(id: number): Promise<IndexSeries> {
    this.checkOpen();
    const hit = this.cache?.getSeries(id);
    if (hit !== undefined) return hit;
    const off = this.seriesOffset(id);
    const s = new SeriesScratch();
    let len = Math.min(PROBE, this.seriesEnd - off);
    let buf = await this.src.read(off, len);
    let r = decodeSeriesEntry(buf, 0, len, this.seriesEnd, this.path, off, this.syms, s);
    if (r < 0) {
      len = s.entrySize;
      buf = await this.src.read(off, len);
      r = decodeSeriesEntry(buf, 0, len, this.seriesEnd, this.path, off, this.syms, s);
      if (r < 0)
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          this.path,
          off,
          'series entry length changed between reads',
        );
    }
    const out = { labels: s.labels, chunks: s.chunks };
    this.cache?.putSeries(id, out, s.entrySize);
    return out;
  }

  /**
   * Several series by ID (results in the same order). Entries less than 64 KiB apart share one
   * read, so a selection costs a few reads instead of one per series; cached ones are not read.
   */
  async seriesMany(ids: ArrayLike<number>): Promise<IndexSeries[]> {
    this.checkOpen();
    const n = ids.length;
    const out = new Array<IndexSeries>(n);
    const todo: number[] = [];
    for (let i = 0; i < n; i++) {
      const hit = this.cache?.getSeries(ids[i]!);
      if (hit !== undefined) out[i] = hit;
      else {
        this.seriesOffset(ids[i]!);
        todo.push(i);
      }
    }
    todo.sort((a, b) => ids[a]! - ids[b]!);
    let i = 0;
    while (i < todo.length) {
      const start = ids[todo[i]!]! * SERIES_ALIGN;
      let j = i + 1;
      while (j < todo.length) {
        const off = ids[todo[j]!]! * SERIES_ALIGN;
        const prev = ids[todo[j - 1]!]! * SERIES_ALIGN;
        if (off - prev > SERIES_GAP || off - start > SERIES_MAX_READ) break;
        j++;
      }
      const end = Math.min(ids[todo[j - 1]!]! * SERIES_ALIGN + PROBE, this.seriesEnd);
      const buf = await this.src.read(start, end - start);
      const s = new SeriesScratch();
      for (let k = i; k < j; k++) {
        const id = ids[todo[k]!]!;
        const rel = id * SERIES_ALIGN - start;
        const r = decodeSeriesEntry(buf, rel, buf.length, this.seriesEnd, this.path, start, this.syms, s);
        if (r < 0) out[todo[k]!] = await this.series(id);
        else {
          const got = { labels: s.labels, chunks: s.chunks };
          this.cache?.putSeries(id, got, s.entrySize);
          out[todo[k]!] = got;
          s.labels = [];
          s.chunks = [];
        }
      }
      i = j;
    }
    return out;
  }

  /** The file offset of series `id`; a FormatError when it lies outside the series section. */
  private seriesOffset(id: number): number {
    return seriesOffset(id, this.toc.series, this.seriesEnd, this.path);
  }

  /** A sequential cursor over all series (see cursor.ts). */
  seriesCursor(bufferSize: number = DEFAULT_CURSOR_BUFFER): SeriesCursor {
    this.checkOpen();
    return new SeriesCursor(this.src, this.toc.series, this.seriesEnd, this.syms, bufferSize);
  }

  /**
   * All series in order. The yielded object (and its arrays) is reused for the next series:
   * copy what you keep.
   */
  async *seriesIterator(bufferSize?: number): AsyncGenerator<SeriesScratch, void, undefined> {
    const c = this.seriesCursor(bufferSize);
    for (;;) {
      while (c.next()) yield c.series;
      if (!(await c.load())) break;
    }
  }

  /** Series IDs matching all matchers, with Prometheus' PostingsForMatchers semantics. */
  select(matchers: readonly Matcher[]): Promise<Uint32Array> {
    this.checkOpen();
    return selectPostings(this, matchers);
  }

  /** Walks the whole index and reports every problem found (see validate.ts). */
  validate(minTime: number, maxTime: number, options?: ValidateOptions): Promise<IndexValidation> {
    this.checkOpen();
    return validateIndex(this, minTime, maxTime, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.src.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new InvalidArgumentError(`index reader for ${this.path} is closed`);
  }
}

/** Reads a `len body crc` section at `off` (ending before `limit`) and returns the checked body. */
async function readSection(
  fh: PositionalReader,
  path: string,
  off: number,
  limit: number,
  what: string,
): Promise<Buffer> {
  const len = await sectionLength(fh, path, off, limit, what);
  const buf = await fh.read(off + 4, len + 4);
  const body = buf.subarray(0, len);
  const want = new Decbuf(buf, len, len + 4, path, off + 4).be32();
  if (crc32c(body) !== want)
    throw new FormatError('ERR_TSDB_CHECKSUM', path, off, `${what} checksum mismatch`);
  return body;
}

function findValue(values: readonly string[], v: string): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareStrings(values[mid]!, v);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
