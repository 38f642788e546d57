/**
 * A reader of index files that holds nothing per symbol, label value or series: the symbol table
 * is walked from the file and CRC-checked at open, the postings offset table CRC-checked on each
 * walk of it; series come with their label refs only. For the streaming passes whose
 * memory must not grow with the index: downsampling (its input, and the output index derived
 * from it) and the read-back check of a written block. IndexReader is the reader for lookups.
 */
import { isUtf8 } from 'node:buffer';
import type { Labels } from '../labels.js';
import { FormatError, InvalidArgumentError } from '../../util/errors.js';
import { HEADER_LEN, type IndexToc } from './format.js';
import { readIndexLayout, seriesOffset, type IndexLayout } from './layout.js';
import { FileReader, type PositionalReader } from './positional.js';
import { readPostingsLists } from './postings-read.js';
import { decodePostingsList } from './postings.js';
import { DEFAULT_CURSOR_BUFFER, SeriesCursor } from './cursor.js';
import { SeriesScratch, decodeSeriesEntry } from './series.js';
import { SectionReader } from './section-reader.js';
import { walkPostingsTable, type PostingsEntryFn } from './postings-walk.js';
import type { BufferedFileWriter } from './io.js';

/** Every SPARSE-th symbol's file offset is kept, for lookups by ref. */
const SPARSE = 256;
const SERIES_WINDOW = 64 << 10;
const POSTINGS_WINDOW = 1 << 20;

/** Most symbols are ASCII: checked without a view or a native call. */
function isAscii(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i]! >= 0x80) return false;
  return true;
}

export class LeanIndex {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly src: PositionalReader,
    private readonly layout: IndexLayout,
    readonly numSymbols: number,
    /** Refs of symbols whose bytes are not valid UTF-8. */
    readonly invalidUtf8Symbols: readonly number[],
    /** Whether symbol 0 is the empty string (sorted first, the only place it can be). */
    readonly emptySymbol: boolean,
    /** File offset of symbol i * SPARSE. */
    private readonly sparse: Float64Array,
    /** File offset just past the symbol table's entries. */
    private readonly symbolsEnd: number,
    /** Entries of the postings offset table, the all-postings entry included. */
    readonly numPostings: number,
    /** File offset of the all-postings list; -1 when the table has none. */
    private readonly allPostingsAt: number,
  ) {}

  static async open(path: string): Promise<LeanIndex> {
    return LeanIndex.fromReader(await FileReader.open(path));
  }

  /** The index read through `src` (closed by close(), or here when it is not a valid index). */
  static async fromReader(src: PositionalReader): Promise<LeanIndex> {
    try {
      return await LeanIndex.load(src);
    } catch (err) {
      await src.close().catch(() => undefined);
      throw err;
    }
  }

  private static async load(src: PositionalReader): Promise<LeanIndex> {
    const path = src.name;
    const layout = await readIndexLayout(src, path);
    const r = await SectionReader.open(src, path, layout.toc.symbols, layout.tocAt, 'symbol table');
    let p = r.need(4);
    if (p) await p;
    const count = r.be32();
    if (count > r.remaining) r.fail('ERR_TSDB_CORRUPT', `claims ${count} symbols in ${r.remaining} bytes`);
    const sparse = new Float64Array(Math.ceil(count / SPARSE));
    const invalid: number[] = [];
    let empty = false;
    for (let i = 0; i < count; i++) {
      if (i % SPARSE === 0) sparse[i / SPARSE] = r.offset;
      p = r.need(10);
      if (p) await p;
      const n = r.uvarint();
      p = r.need(n);
      if (p) await p;
      const at = r.take(n);
      if (!isAscii(r.bytes, at, at + n) && !isUtf8(r.bytes.subarray(at, at + n))) invalid.push(i);
      if (i === 0 && n === 0) empty = true;
    }
    await r.checkCrc();
    // The postings offset table: its count and first entry now (the all-postings list); its
    // order and CRC are checked by every walk (forEachPostingsEntry), before a walk's result counts.
    const t = await SectionReader.open(
      src,
      path,
      layout.toc.postingsTable,
      layout.tocAt,
      'postings offset table',
    );
    p = t.need(4 + 24);
    if (p) await p;
    const numPostings = t.be32();
    if (numPostings * 4 > t.remaining)
      t.fail('ERR_TSDB_CORRUPT', `claims ${numPostings} entries in ${t.remaining} bytes`);
    let allAt = -1;
    if (numPostings > 0 && t.uvarint() === 2 && t.uvarint() === 0 && t.uvarint() === 0) {
      const off = t.uvarint();
      if (off >= HEADER_LEN && off < layout.toc.postingsTable) allAt = off;
    }
    return new LeanIndex(path, src, layout, count, invalid, empty, sparse, r.bodyEnd, numPostings, allAt);
  }

  get toc(): IndexToc {
    return this.layout.toc;
  }

  get version(): number {
    return this.layout.version;
  }

  /** The strings of the given symbol refs (any order, repeats allowed): one walk of the table. */
  async symbolsFor(refs: ArrayLike<number>): Promise<Map<number, string>> {
    const want = Array.from(refs);
    want.sort((a, b) => a - b);
    const out = new Map<number, string>();
    if (want.length === 0) return out;
    const first = want[0]!;
    if (want[want.length - 1]! >= this.numSymbols || first < 0) {
      throw new FormatError(
        'ERR_TSDB_CORRUPT',
        this.path,
        this.toc.symbols,
        `symbol ${want[want.length - 1]} out of range (${this.numSymbols} symbols)`,
      );
    }
    const start = Math.floor(first / SPARSE);
    const r = SectionReader.range(this.src, this.path, this.sparse[start]!, this.symbolsEnd, 'symbol table');
    let k = 0;
    for (let i = start * SPARSE; k < want.length; i++) {
      let p = r.need(10);
      if (p) await p;
      const n = r.uvarint();
      p = r.need(n);
      if (p) await p;
      const at = r.take(n);
      if (want[k] !== i) continue;
      out.set(i, r.bytes.toString('utf8', at, at + n));
      while (k < want.length && want[k] === i) k++;
    }
    return out;
  }

  /** The labels of a series from its refs (for messages: one walk of the symbol table). */
  async resolveLabels(refs: Uint32Array, numLabels: number): Promise<Labels> {
    const syms = await this.symbolsFor(refs.subarray(0, 2 * numLabels));
    const out: { name: string; value: string }[] = [];
    for (let i = 0; i < numLabels; i++) {
      out.push({ name: syms.get(refs[2 * i]!)!, value: syms.get(refs[2 * i + 1]!)! });
    }
    return out;
  }

  /** Walks the postings offset table in order (order, bounds and CRC checked; see postings-walk.ts). */
  forEachPostingsEntry(fn: PostingsEntryFn): Promise<void> {
    this.checkOpen();
    return walkPostingsTable(this.src, this.path, this.toc.postingsTable, this.layout.tocAt, fn);
  }

  /** The postings lists at the given file offsets (results in the same order). */
  postingsAt(offsets: readonly number[]): Promise<Uint32Array[]> {
    this.checkOpen();
    return readPostingsLists(this.src, this.path, HEADER_LEN, this.toc.postingsTable, offsets);
  }

  /**
   * Reads lists one at a time through a 1 MiB window: a walk in table order reads the postings
   * section sequentially (writers lay the lists out in table order).
   */
  postingsReader(): (offset: number) => Uint32Array | Promise<Uint32Array> {
    this.checkOpen();
    const { src, path } = this;
    const limit = this.toc.postingsTable;
    let buf = Buffer.allocUnsafe(0);
    let base = 0;
    let len = 0;
    // Decoded into one reused array: a list is valid until the next call.
    let ids = new Uint32Array(1024);
    const load = async (off: number, need: number): Promise<void> => {
      const n = Math.min(Math.max(need, POSTINGS_WINDOW), limit - off);
      if (buf.length < n) buf = Buffer.allocUnsafe(n);
      await src.readInto(buf, 0, n, off);
      base = off;
      len = n;
    };
    const decode = (off: number): Uint32Array => {
      const size = 8 + buf.readUInt32BE(off - base);
      if (off + size > limit) {
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          path,
          off,
          `postings list of ${size - 8} bytes runs past its section`,
        );
      }
      if (size / 4 > ids.length) ids = new Uint32Array(Math.max(size / 4, 2 * ids.length));
      return decodePostingsList(buf, off - base, off - base + size, path, base, ids);
    };
    const slow = async (off: number): Promise<Uint32Array> => {
      if (off < base || off + 8 > base + len) await load(off, 8);
      const size = 8 + buf.readUInt32BE(off - base);
      if (off + size <= limit && off + size > base + len) await load(off, size);
      return decode(off);
    };
    return (off) => {
      if (off < HEADER_LEN || off + 12 > limit) {
        throw new FormatError(
          'ERR_TSDB_CORRUPT',
          path,
          off,
          'postings list offset outside the postings section',
        );
      }
      if (off < base || off + 8 > base + len || off + 8 + buf.readUInt32BE(off - base) > base + len) {
        return slow(off);
      }
      return decode(off);
    };
  }

  /** Every series ID, ascending (empty when the table has no all-postings entry). */
  async allPostings(): Promise<Uint32Array> {
    if (this.allPostingsAt < 0) return new Uint32Array(0);
    return (await this.postingsAt([this.allPostingsAt]))[0]!;
  }

  /** A sequential cursor over all series; they carry label refs only. */
  seriesCursor(bufferSize: number = DEFAULT_CURSOR_BUFFER): SeriesCursor {
    this.checkOpen();
    return new SeriesCursor(this.src, this.toc.series, this.layout.seriesEnd, this.numSymbols, bufferSize);
  }

  /** Calls `fn` for the series of each ID (ascending), label refs only; `s` is reused. */
  async forSeries(ids: ArrayLike<number>, fn: (s: SeriesScratch) => void | Promise<void>): Promise<void> {
    this.checkOpen();
    const end = this.layout.seriesEnd;
    const s = new SeriesScratch();
    let buf = Buffer.allocUnsafe(SERIES_WINDOW);
    let base = 0;
    let len = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const off = seriesOffset(id, this.toc.series, end, this.path);
      for (let attempt = 0; ; attempt++) {
        if (off < base || off >= base + len || attempt > 0) {
          const want = Math.min(Math.max(SERIES_WINDOW, s.entrySize), end - off);
          if (want > buf.length) buf = Buffer.allocUnsafe(want);
          await this.src.readInto(buf, 0, want, off);
          base = off;
          len = want;
        }
        if (decodeSeriesEntry(buf, off - base, len, end, this.path, base, this.numSymbols, s) >= 0) break;
        if (attempt > 0)
          throw new FormatError(
            'ERR_TSDB_CORRUPT',
            this.path,
            off,
            'series entry length changed between reads',
          );
      }
      s.id = id;
      const q = fn(s);
      if (q) await q;
    }
  }

  /** Copies the symbol table section (length, body, CRC) into `out`, checking the CRC again. */
  async copySymbolTable(out: BufferedFileWriter): Promise<void> {
    this.checkOpen();
    const { toc, tocAt } = this.layout;
    const r = await SectionReader.open(this.src, this.path, toc.symbols, tocAt, 'symbol table');
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(r.bodyEnd - r.bodyStart, 0);
    let p = out.write(head);
    if (p) await p;
    while (r.remaining > 0) {
      const n = Math.min(r.remaining, 32 << 10);
      p = r.need(n);
      if (p) await p;
      const at = r.take(n);
      p = out.write(r.bytes.subarray(at, at + n));
      if (p) await p;
    }
    await r.checkCrc();
    p = out.write(await this.src.read(r.bodyEnd, 4));
    if (p) await p;
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
