/**
 * Streaming writer of index format v2. Series come in label order; their entries go through a
 * fixed write buffer, postings are kept as compact arrays and written at close(), after the
 * series. The legacy label-index sections are not written (Prometheus 2.x readers never read
 * them; see the promtool interop test).
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { Encbuf } from '../encoding/encbuf.js';
import { crc32c } from '../encoding/crc32c.js';
import { formatLabels, type Labels } from '../labels.js';
import { InvalidArgumentError } from '../../util/errors.js';
import {
  IndexWriterError,
  MAX_CHUNK_REF,
  MAX_TIME,
  MIN_TIME,
  checkAscending,
  checkChunks,
  type ChunkRefSource,
  compareRefs,
  safeFormat,
} from './write-checks.js';

export { IndexWriterError, type ChunkRefSource };
import {
  HEADER_LEN,
  INDEX_MAGIC,
  INDEX_VERSION_2,
  MAX_SERIES_ID,
  MAX_UINT32,
  POSTINGS_ALIGN,
  SERIES_ALIGN,
  alignUp,
  encodeToc,
  type ChunkMeta,
  type IndexToc,
} from './format.js';
import { BufferedFileWriter } from './io.js';
import { PostingsCollector } from './postings-collector.js';
import { CHUNK_IDS, POSTINGS_SCRATCH, encodePostingsList, writePostingsList } from './postings.js';
import { encodeSeriesEntry } from './series.js';
import { buildSymbolMap, writeSymbolTable } from './symbols.js';

/** Limits of times and refs (see write-checks.ts). */
export { MIN_TIME, MAX_TIME, MAX_CHUNK_REF };

export interface IndexWriterOptions {
  /** Write buffer size in bytes (default 1 MiB). */
  bufferSize?: number;
  /**
   * Block range: a chunk with mint < minTime or maxt > maxTime is refused (what `strata tsdb
   * verify` reports as chunk-outside-block). Unchecked when not given.
   */
  minTime?: number;
  maxTime?: number;
  /** The chunk writer the refs point into: a ref it did not write is refused. */
  chunks?: ChunkRefSource;
  /** Test seam: sees each postings list before it is encoded. */
  postingsHook?: (ids: Uint32Array) => void;
}

export interface IndexWriterStats {
  numSeries: number;
  numChunks: number;
  numSymbols: number;
  /** Postings lists written, the all-postings list included (0 before close). */
  numPostings: number;
  /**
   * Largest series entry rounded up to 16 bytes: the distance from a series' start to the next
   * one's. Thanos' index_stats.series_max_size (it measures the same distance between
   * consecutive series, so ours is >= Thanos' for the same index).
   */
  seriesMaxSize: number;
  /** Bytes written so far; the file size after close(). */
  size: number;
}

export class IndexWriter {
  private readonly out: BufferedFileWriter;
  private readonly symbolRefs: Map<string, number>;
  private readonly postings = new PostingsCollector();
  private readonly entry = new Encbuf(1024);
  private readonly body = new Encbuf(1024);
  private refs = new Uint32Array(64);
  private prevRefs = new Uint32Array(64);
  private prevLabels = 0;
  private seriesStart = 0;
  private numSeries = 0;
  private numChunks = 0;
  private numPostings = 0;
  private seriesMaxSize = 0;
  private state: 'open' | 'closed' | 'failed' = 'open';
  private fhClosed = false;
  /** Per label position: last name, its ref, last value, its ref. */
  private readonly lookupCache: Array<string | number | undefined> = new Array(4 * CACHE_LABELS).fill(
    undefined,
  );
  private busy = false;
  private readonly minTime: number;
  private readonly maxTime: number;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly symbols: readonly string[],
    symbolRefs: Map<string, number>,
    bufferSize: number,
    private readonly options: IndexWriterOptions,
  ) {
    this.symbolRefs = symbolRefs;
    this.out = new BufferedFileWriter(fh, bufferSize);
    this.minTime = options.minTime ?? -Infinity;
    this.maxTime = options.maxTime ?? Infinity;
  }

  /** Creates `path` and writes the header and the symbol table (sorted bytewise, unique). */
  static async create(
    path: string,
    symbols: readonly string[],
    options: IndexWriterOptions = {},
  ): Promise<IndexWriter> {
    const symbolRefs = buildSymbolMap(symbols);
    const bufferSize = options.bufferSize ?? 1 << 20;
    if (!Number.isInteger(bufferSize) || bufferSize < 64) {
      throw new InvalidArgumentError(`index: buffer size ${bufferSize} must be an integer >= 64`);
    }
    const fh = await open(path, 'w');
    const w = new IndexWriter(path, fh, symbols, symbolRefs, bufferSize, options);
    try {
      const head = Buffer.alloc(HEADER_LEN);
      head.writeUInt32BE(INDEX_MAGIC, 0);
      head[4] = INDEX_VERSION_2;
      const p = w.out.write(head);
      if (p) await p;
      await writeSymbolTable(w.out, symbols);
      w.seriesStart = w.out.pos;
    } catch (err) {
      await w.abort();
      throw err;
    }
    return w;
  }

  stats(): IndexWriterStats {
    return {
      numSeries: this.numSeries,
      numChunks: this.numChunks,
      numSymbols: this.symbols.length,
      numPostings: this.numPostings,
      seriesMaxSize: this.seriesMaxSize,
      size: this.out.pos,
    };
  }

  /**
   * Adds the next series; returns its ID (file offset / 16), or a promise of it when the entry
   * did not fit the write buffer (no promise per series otherwise). Series must be strictly
   * ascending by label set; every name and value must be in the symbol table; chunks non-empty,
   * ordered, non-overlapping. A rejected series leaves the writer usable.
   */
  addSeries(labels: Labels, chunks: readonly ChunkMeta[]): number | Promise<number> {
    this.checkOpen();
    const k = this.checkLabels(labels);
    checkChunks(labels, chunks, this.minTime, this.maxTime, this.options.chunks);
    const id = alignUp(this.out.pos, SERIES_ALIGN) / SERIES_ALIGN;
    if (id > MAX_SERIES_ID) {
      throw new IndexWriterError(
        'ERR_INVALID_ARGUMENT',
        safeFormat(labels),
        'index exceeds 64 GiB of series',
      );
    }
    this.entry.reset();
    encodeSeriesEntry(this.entry, this.body, this.refs, k, chunks);
    let padding: Promise<void> | undefined;
    let writing: Promise<void> | undefined;
    try {
      padding = this.out.pad(SERIES_ALIGN);
      if (padding === undefined) writing = this.out.write(this.entry.view());
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
    if (padding === undefined && writing === undefined) return this.added(id, k, chunks.length);
    this.busy = true;
    return this.addSlow(padding, writing, id, k, chunks.length);
  }

  /** addSeries after a flush the padding or the entry had to wait for. */
  private async addSlow(
    padding: Promise<void> | undefined,
    writing: Promise<void> | undefined,
    id: number,
    k: number,
    numChunks: number,
  ): Promise<number> {
    try {
      if (padding !== undefined) {
        await padding;
        writing = this.out.write(this.entry.view());
      }
      if (writing !== undefined) await writing;
      return this.added(id, k, numChunks);
    } catch (err) {
      this.state = 'failed';
      throw err;
    } finally {
      this.busy = false;
    }
  }

  private added(id: number, k: number, numChunks: number): number {
    const size = alignUp(this.entry.len, SERIES_ALIGN);
    if (size > this.seriesMaxSize) this.seriesMaxSize = size;
    this.postings.add(id, this.refs, k);
    // Keep this series' refs for the order check of the next one.
    const t = this.prevRefs;
    this.prevRefs = this.refs;
    this.refs = t;
    this.prevLabels = k;
    this.numSeries++;
    this.numChunks += numChunks;
    return id;
  }

  private checkOpen(): void {
    if (this.state !== 'open') {
      throw new InvalidArgumentError(`index writer for ${this.path} is ${this.state}`);
    }
    if (this.busy) {
      throw new InvalidArgumentError(
        `index writer for ${this.path}: await each addSeries() before the next call`,
      );
    }
  }

  /** Resolves label refs into this.refs and checks label and series order; returns the count. */
  private checkLabels(labels: Labels): number {
    const k = labels.length;
    if (k === 0) throw new IndexWriterError('ERR_INVALID_ARGUMENT', '{}', 'empty label set');
    if (this.refs.length < 2 * k) this.refs = new Uint32Array(2 * k);
    const refs = this.refs;
    const cache = this.lookupCache;
    for (let i = 0; i < k; i++) {
      const l = labels[i]!;
      // Neighbouring series mostly repeat names and values at the same position.
      let n: number | undefined;
      let v: number | undefined;
      if (i < CACHE_LABELS && cache[4 * i] === l.name) {
        n = cache[4 * i + 1] as number;
      } else {
        n = this.symbolRefs.get(l.name);
        if (i < CACHE_LABELS && n !== undefined) {
          cache[4 * i] = l.name;
          cache[4 * i + 1] = n;
        }
      }
      if (i < CACHE_LABELS && cache[4 * i + 2] === l.value) {
        v = cache[4 * i + 3] as number;
      } else {
        v = this.symbolRefs.get(l.value);
        if (i < CACHE_LABELS && v !== undefined) {
          cache[4 * i + 2] = l.value;
          cache[4 * i + 3] = v;
        }
      }
      if (n === undefined || v === undefined || l.name === '' || l.value === '') {
        const what =
          typeof l.name !== 'string' || typeof l.value !== 'string'
            ? 'label name and value must be strings'
            : l.name === ''
              ? 'empty label name'
              : l.value === ''
                ? `label ${l.name} has an empty value (Prometheus treats it as absent)`
                : `${n === undefined ? 'label name ' + JSON.stringify(l.name) : 'label value ' + JSON.stringify(l.value)} is not in the symbol table`;
        throw new IndexWriterError('ERR_INVALID_ARGUMENT', safeFormat(labels), what);
      }
      if (i > 0 && n <= refs[2 * i - 2]!) {
        throw new IndexWriterError(
          'ERR_INVALID_ARGUMENT',
          safeFormat(labels),
          `labels not sorted by name or duplicated: ${JSON.stringify(l.name)} after ${JSON.stringify(labels[i - 1]!.name)}`,
        );
      }
      refs[2 * i] = n;
      refs[2 * i + 1] = v;
    }
    const order = this.numSeries > 0 ? compareRefs(this.prevRefs, this.prevLabels, refs, k) : -1;
    if (order >= 0) {
      throw new IndexWriterError(
        'ERR_TSDB_OUT_OF_ORDER',
        safeFormat(labels),
        order === 0
          ? 'series out of order: duplicate of the previous series'
          : `series out of order: not after ${this.formatPrev()}`,
      );
    }
    return k;
  }

  private formatPrev(): string {
    const ls = [];
    for (let i = 0; i < this.prevLabels; i++) {
      ls.push({
        name: this.symbols[this.prevRefs[2 * i]!]!,
        value: this.symbols[this.prevRefs[2 * i + 1]!]!,
      });
    }
    return formatLabels(ls);
  }

  /** Writes the postings, the postings offset table and the TOC; fsyncs and closes the file. */
  async close(): Promise<IndexWriterStats> {
    this.checkOpen();
    try {
      await this.finish();
      this.state = 'closed';
    } catch (err) {
      await this.abort();
      throw err;
    }
    return this.stats();
  }

  private async finish(): Promise<void> {
    const out = this.out;
    const seriesEnd = out.pos;
    let p = out.pad(POSTINGS_ALIGN);
    if (p) await p;

    const scratch = Buffer.allocUnsafe(POSTINGS_SCRATCH);
    const table = new Encbuf(1 << 16);
    let entries = 0;
    const counts = new Uint32Array(this.symbols.length);
    const names = this.postings.nameRefs();
    // i = -1 is the all-postings list under ("", "").
    for (let i = -1; i < names.length; i++) {
      const name = i < 0 ? '' : this.symbols[names[i]!]!;
      const g = i < 0 ? null : this.postings.takeGroups(names[i]!, counts);
      const numValues = g === null ? 1 : g.values.length;
      for (let j = 0; j < numValues; j++) {
        const ids = g === null ? this.postings.allPostings() : g.ids.subarray(g.starts[j]!, g.starts[j + 1]!);
        this.options.postingsHook?.(ids);
        checkAscending(ids, name, g === null ? '' : this.symbols[g.values[j]!]!);
        table.putUvarint(2);
        table.putUvarintString(name);
        table.putUvarintString(g === null ? '' : this.symbols[g.values[j]!]!);
        table.putUvarint(out.pos);
        entries++;
        if (ids.length <= CHUNK_IDS) {
          const n = encodePostingsList(scratch, ids, ids.length);
          const q = out.write(scratch.subarray(0, n));
          if (q) await q;
        } else {
          await writePostingsList(out, ids, ids.length, scratch);
        }
      }
    }
    this.numPostings = entries;

    const postingsTable = out.pos;
    if (entries > MAX_UINT32 || 4 + table.len > MAX_UINT32) {
      throw new InvalidArgumentError(`index: postings offset table of ${table.len} bytes exceeds 4 GiB`);
    }
    const head = Buffer.allocUnsafe(8);
    head.writeUInt32BE(4 + table.len, 0);
    head.writeUInt32BE(entries, 4);
    const crc = crc32c(table.view(), crc32c(head.subarray(4)));
    p = out.write(head);
    if (p) await p;
    p = out.write(table.view());
    if (p) await p;
    const tail = Buffer.allocUnsafe(4);
    tail.writeUInt32BE(crc, 0);
    p = out.write(tail);
    if (p) await p;

    const toc: IndexToc = {
      symbols: HEADER_LEN,
      series: this.seriesStart,
      labelIndices: seriesEnd,
      labelIndicesTable: postingsTable,
      postings: seriesEnd,
      postingsTable,
    };
    p = out.write(encodeToc(toc));
    if (p) await p;
    await out.flush();
    await this.fh.sync();
    this.fhClosed = true;
    await this.fh.close();
  }

  /** Closes and deletes the file (also after a failed close); safe to call more than once. */
  async abort(): Promise<void> {
    this.state = 'failed';
    if (!this.fhClosed) {
      this.fhClosed = true;
      await this.fh.close().catch(() => undefined);
    }
    await unlink(this.path).catch(() => undefined);
  }
}

const CACHE_LABELS = 32;
