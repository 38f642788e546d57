/**
 * Reader of index format v2 (and v3, which Prometheus >= 2.55 reads exactly like v2). open()
 * loads only the TOC, the symbol table and the postings offset table; series and postings lists
 * are read on demand with positional reads, every length checked against the file first.
 */
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { Decbuf } from '../encoding/decbuf.js';
import { crc32c } from '../encoding/crc32c.js';
import type { Labels } from '../labels.js';
import { FormatError, InvalidArgumentError } from '../../util/errors.js';
import {
  HEADER_LEN,
  INDEX_MAGIC,
  INDEX_VERSION_1,
  INDEX_VERSION_2,
  INDEX_VERSION_3,
  MAX_SERIES_ID,
  SERIES_ALIGN,
  TOC_LEN,
  decodeToc,
  type ChunkMeta,
  type IndexToc,
} from './format.js';
import { readAt, readFullyAt } from './io.js';
import { DEFAULT_CURSOR_BUFFER, SeriesCursor } from './cursor.js';
import { decodePostingsList, union } from './postings.js';
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

/** Initial read size for a series entry or a postings list; longer ones take a second read. */
const PROBE = 4096;
/** Postings lists closer together than this are read with one read. */
const POSTINGS_WINDOW = 1 << 20;

export class IndexReader {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    /** File size in bytes. */
    readonly size: number,
    readonly version: number,
    readonly toc: IndexToc,
    private readonly syms: string[],
    /** Symbol refs whose bytes are not valid UTF-8. */
    readonly invalidUtf8Symbols: readonly number[],
    private readonly table: PostingsTable,
    /** File offset where the series section ends. */
    readonly seriesEnd: number,
  ) {}

  static async open(path: string): Promise<IndexReader> {
    const fh = await openFile(path, 'r');
    try {
      return await IndexReader.load(path, fh);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  private static async load(path: string, fh: FileHandle): Promise<IndexReader> {
    const size = (await fh.stat()).size;
    if (size < HEADER_LEN + TOC_LEN) {
      throw new FormatError(
        'ERR_TSDB_TRUNCATED',
        path,
        size,
        `index of ${size} bytes is shorter than header + TOC`,
      );
    }
    const head = await readAt(fh, path, 0, HEADER_LEN);
    const magic = head.readUInt32BE(0);
    if (magic !== INDEX_MAGIC) {
      throw new FormatError(
        'ERR_TSDB_BAD_MAGIC',
        path,
        0,
        `bad index magic 0x${magic.toString(16).padStart(8, '0')}`,
      );
    }
    const version = head[4]!;
    if (version === INDEX_VERSION_1) {
      throw new FormatError(
        'ERR_TSDB_BAD_VERSION',
        path,
        4,
        'index format v1 (Prometheus < 2.0) is not supported',
      );
    }
    if (version !== INDEX_VERSION_2 && version !== INDEX_VERSION_3) {
      throw new FormatError('ERR_TSDB_BAD_VERSION', path, 4, `unknown index format version ${version}`);
    }
    const tocAt = size - TOC_LEN;
    const toc = decodeToc(await readAt(fh, path, tocAt, TOC_LEN), path, tocAt);
    const checkOff = (off: number, what: string, field: number): void => {
      if (off < HEADER_LEN || off >= tocAt) {
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          path,
          tocAt + field * 8,
          `TOC ${what} offset ${off} outside the file`,
        );
      }
    };
    checkOff(toc.symbols, 'symbols', 0);
    checkOff(toc.series, 'series', 1);
    checkOff(toc.postingsTable, 'postings offset table', 5);
    if (toc.series < toc.symbols || toc.postingsTable < toc.series) {
      throw new FormatError('ERR_TSDB_CORRUPT', path, tocAt, 'TOC sections out of order');
    }
    // The series section ends where the next present section starts.
    let seriesEnd = toc.postingsTable;
    for (const off of [toc.labelIndices, toc.postings, toc.labelIndicesTable]) {
      if (off > toc.series && off < seriesEnd) seriesEnd = off;
    }

    const sym = await readSection(fh, path, toc.symbols, tocAt, 'symbol table');
    const { symbols, invalidUtf8 } = decodeSymbols(sym, path, toc.symbols + 4);
    const pt = await readSection(fh, path, toc.postingsTable, tocAt, 'postings offset table');
    const table = decodePostingsTable(pt, path, toc.postingsTable + 4, HEADER_LEN, toc.postingsTable);
    return new IndexReader(path, fh, size, version, toc, symbols, invalidUtf8, table, seriesEnd);
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
   * lists share one read.
   */
  async postingsAt(offsets: readonly number[]): Promise<Uint32Array[]> {
    this.checkOpen();
    const n = offsets.length;
    const out = new Array<Uint32Array>(n);
    const order = new Uint32Array(n);
    let sorted = true;
    for (let i = 0; i < n; i++) {
      order[i] = i;
      if (i > 0 && offsets[i]! < offsets[i - 1]!) sorted = false;
    }
    if (!sorted) order.sort((a, b) => offsets[a]! - offsets[b]!);
    const limit = this.toc.postingsTable;
    let i = 0;
    while (i < n) {
      const start = offsets[order[i]!]!;
      let j = i + 1;
      while (j < n && offsets[order[j]!]! - start < POSTINGS_WINDOW) j++;
      const readEnd = Math.min(offsets[order[j - 1]!]! + PROBE, limit);
      if (start < HEADER_LEN || start + 12 > limit) {
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          this.path,
          start,
          'postings list offset outside the postings section',
        );
      }
      const buf = await readAt(this.fh, this.path, start, readEnd - start);
      for (let k = i; k < j; k++) {
        const off = offsets[order[k]!]!;
        const rel = off - start;
        if (off + 12 > limit) {
          throw new FormatError(
            'ERR_TSDB_CORRUPT',
            this.path,
            off,
            'postings list offset outside the postings section',
          );
        }
        const len = buf.readUInt32BE(rel);
        const size = 4 + len + 4;
        if (off + size > limit) {
          throw new FormatError(
            'ERR_TSDB_CORRUPT',
            this.path,
            off,
            `postings list of ${len} bytes runs past its section`,
          );
        }
        if (rel + size <= buf.length) {
          out[order[k]!] = decodePostingsList(buf, rel, rel + size, this.path, start);
        } else {
          const big = await readAt(this.fh, this.path, off, size);
          out[order[k]!] = decodePostingsList(big, 0, size, this.path, off);
        }
      }
      i = j;
    }
    return out;
  }

  /** One series by ID (CRC-checked). Bad IDs are FormatErrors naming the offset. */
  async series(id: number): Promise<IndexSeries> {
    this.checkOpen();
    const off = id * SERIES_ALIGN;
    if (
      !Number.isInteger(id) ||
      id < 0 ||
      id > MAX_SERIES_ID ||
      off < this.toc.series ||
      off >= this.seriesEnd
    ) {
      throw new FormatError(
        'ERR_TSDB_CORRUPT',
        this.path,
        Number.isFinite(off) ? off : 0,
        `series ID ${id} outside the series section [${this.toc.series}, ${this.seriesEnd})`,
      );
    }
    const s = new SeriesScratch();
    let len = Math.min(PROBE, this.seriesEnd - off);
    let buf = await readAt(this.fh, this.path, off, len);
    let r = decodeSeriesEntry(buf, 0, len, this.seriesEnd, this.path, off, this.syms, s);
    if (r < 0) {
      len = s.entrySize;
      buf = await readAt(this.fh, this.path, off, len);
      r = decodeSeriesEntry(buf, 0, len, this.seriesEnd, this.path, off, this.syms, s);
      if (r < 0)
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          this.path,
          off,
          'series entry length changed between reads',
        );
    }
    return { labels: s.labels, chunks: s.chunks };
  }

  /** A sequential cursor over all series (see cursor.ts). */
  seriesCursor(bufferSize: number = DEFAULT_CURSOR_BUFFER): SeriesCursor {
    this.checkOpen();
    return new SeriesCursor(this.fh, this.path, this.toc.series, this.seriesEnd, this.syms, bufferSize);
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
    await this.fh.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new InvalidArgumentError(`index reader for ${this.path} is closed`);
  }
}

/** Reads a `len body crc` section at `off` (ending before `limit`) and returns the checked body. */
async function readSection(
  fh: FileHandle,
  path: string,
  off: number,
  limit: number,
  what: string,
): Promise<Buffer> {
  if (off + 8 > limit)
    throw new FormatError('ERR_TSDB_TRUNCATED', path, off, `${what} header runs past the TOC`);
  const lenBuf = await readAt(fh, path, off, 4);
  const len = lenBuf.readUInt32BE(0);
  if (off + 4 + len + 4 > limit) {
    throw new FormatError(
      'ERR_TSDB_CORRUPT',
      path,
      off,
      `${what} length ${len} runs past the end of the file`,
    );
  }
  const buf = Buffer.allocUnsafe(len + 4);
  await readFullyAt(fh, path, buf, 0, len + 4, off + 4);
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
