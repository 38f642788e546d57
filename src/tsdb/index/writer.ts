/**
 * Streaming writer of index format v2. Series come in label order; their entries go through a
 * fixed write buffer, postings are kept as compact arrays and written at close(), after the
 * series. The legacy label-index sections are not written (Prometheus 2.x readers never read
 * them; see the promtool interop test).
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { Encbuf } from '../encoding/encbuf.js';
import type { Labels } from '../labels.js';
import { InvalidArgumentError } from '../../util/errors.js';
import {
  IndexWriterError,
  MAX_CHUNK_REF,
  MAX_TIME,
  MIN_TIME,
  checkChunks,
  type ChunkRefSource,
  compareRefs,
  copyLabelRefs,
  describeRefs,
  safeFormat,
} from './write-checks.js';

export { IndexWriterError, type ChunkRefSource };
import {
  HEADER_LEN,
  INDEX_MAGIC,
  INDEX_VERSION_2,
  MAX_SERIES_ID,
  SERIES_ALIGN,
  alignUp,
  encodeToc,
  type ChunkMeta,
  type IndexToc,
} from './format.js';
import { BufferedFileWriter, checkBufferSize } from './io.js';
import { PostingsCollector } from './postings-collector.js';
import { IdMap, writeCollectedPostings, writeDerivedPostings } from './postings-write.js';
import { encodeSeriesEntry } from './series.js';
import { buildSymbolMap, writeSymbolTable } from './symbols.js';
import type { LeanIndex } from './lean.js';
import { LabelRefResolver } from './label-refs.js';

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
  /** Collected postings; for a derived index the source ID map instead. */
  private readonly postings: PostingsCollector | undefined;
  private readonly idMap: IdMap | undefined;
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
  private busy = false;
  private readonly minTime: number;
  private readonly maxTime: number;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    /** The symbols as strings, with their refs; both undefined for a derived index. */
    private readonly symbols: readonly string[] | undefined,
    private readonly resolver: LabelRefResolver | undefined,
    private readonly numSymbols: number,
    /** Ref of the empty string in the symbol table, or -1. */
    private readonly emptyRef: number,
    private readonly source: LeanIndex | undefined,
    bufferSize: number,
    private readonly options: IndexWriterOptions,
  ) {
    this.out = new BufferedFileWriter(fh, bufferSize);
    this.postings = source === undefined ? new PostingsCollector() : undefined;
    this.idMap = source === undefined ? undefined : new IdMap();
    this.minTime = options.minTime ?? -Infinity;
    this.maxTime = options.maxTime ?? Infinity;
  }

  /** Creates `path` and writes the header and the symbol table (sorted bytewise, unique). */
  static async create(
    path: string,
    symbols: readonly string[],
    options: IndexWriterOptions = {},
  ): Promise<IndexWriter> {
    const resolver = new LabelRefResolver(buildSymbolMap(symbols));
    const bufferSize = checkBufferSize(options.bufferSize);
    const fh = await open(path, 'w');
    const empty = symbols[0] === '' ? 0 : -1;
    const w = new IndexWriter(
      path,
      fh,
      symbols,
      resolver,
      symbols.length,
      empty,
      undefined,
      bufferSize,
      options,
    );
    return w.start((out) => writeSymbolTable(out, symbols));
  }

  /**
   * Creates `path` as an index derived from `source`: its symbol table copied byte for byte, then
   * a subset of its series, in its order, under its label refs (addSeriesRefs with the source
   * IDs), and its postings mapped to the new IDs at close(). Nothing per symbol or label value
   * is held: memory grows by 8 bytes per series (the ID map).
   */
  static async createDerived(
    path: string,
    source: LeanIndex,
    options: IndexWriterOptions = {},
  ): Promise<IndexWriter> {
    const bufferSize = checkBufferSize(options.bufferSize);
    const fh = await open(path, 'w');
    const empty = source.emptySymbol ? 0 : -1;
    const w = new IndexWriter(
      path,
      fh,
      undefined,
      undefined,
      source.numSymbols,
      empty,
      source,
      bufferSize,
      options,
    );
    return w.start((out) => source.copySymbolTable(out));
  }

  private async start(symbolTable: (out: BufferedFileWriter) => Promise<void>): Promise<IndexWriter> {
    try {
      const head = Buffer.alloc(HEADER_LEN);
      head.writeUInt32BE(INDEX_MAGIC, 0);
      head[4] = INDEX_VERSION_2;
      const p = this.out.write(head);
      if (p) await p;
      await symbolTable(this.out);
      this.seriesStart = this.out.pos;
    } catch (err) {
      await this.abort();
      throw err;
    }
    return this;
  }

  stats(): IndexWriterStats {
    return {
      numSeries: this.numSeries,
      numChunks: this.numChunks,
      numSymbols: this.numSymbols,
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
    if (this.resolver === undefined) {
      throw new InvalidArgumentError(`index writer for ${this.path} is derived: add series by their refs`);
    }
    const k = this.checkLabels(labels, this.resolver);
    return this.write(k, chunks, labels, -1);
  }

  /**
   * Adds the next series by its label refs (name, value pairs into the symbol table); for a
   * derived index `sourceId` is its ID in the source. Checked as addSeries checks labels.
   */
  addSeriesRefs(
    refs: Uint32Array,
    numLabels: number,
    chunks: readonly ChunkMeta[],
    sourceId = -1,
  ): number | Promise<number> {
    this.checkOpen();
    if (this.idMap !== undefined && !(Number.isInteger(sourceId) && sourceId >= 0)) {
      throw new InvalidArgumentError(`index writer for ${this.path}: a derived series needs its source ID`);
    }
    const k = this.checkRefs(refs, numLabels);
    this.idMap?.checkNext(sourceId);
    return this.write(k, chunks, undefined, sourceId);
  }

  /** The label refs of the series added last (a view: copy what you keep). */
  lastSeriesRefs(): Uint32Array {
    return this.prevRefs.subarray(0, 2 * this.prevLabels);
  }

  private write(
    k: number,
    chunks: readonly ChunkMeta[],
    labels: Labels | undefined,
    sourceId: number,
  ): number | Promise<number> {
    const who = labels ?? ((): string => this.describe(this.refs, k));
    checkChunks(who, chunks, this.minTime, this.maxTime, this.options.chunks);
    const id = alignUp(this.out.pos, SERIES_ALIGN) / SERIES_ALIGN;
    if (id > MAX_SERIES_ID) {
      throw new IndexWriterError('ERR_INVALID_ARGUMENT', safeFormat(who), 'index exceeds 64 GiB of series');
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
    if (padding === undefined && writing === undefined) return this.added(id, k, chunks.length, sourceId);
    this.busy = true;
    return this.addSlow(padding, writing, id, k, chunks.length, sourceId);
  }

  /** addSeries after a flush the padding or the entry had to wait for. */
  private async addSlow(
    padding: Promise<void> | undefined,
    writing: Promise<void> | undefined,
    id: number,
    k: number,
    numChunks: number,
    sourceId: number,
  ): Promise<number> {
    try {
      if (padding !== undefined) {
        await padding;
        writing = this.out.write(this.entry.view());
      }
      if (writing !== undefined) await writing;
      return this.added(id, k, numChunks, sourceId);
    } catch (err) {
      this.state = 'failed';
      throw err;
    } finally {
      this.busy = false;
    }
  }

  private added(id: number, k: number, numChunks: number, sourceId: number): number {
    const size = alignUp(this.entry.len, SERIES_ALIGN);
    if (size > this.seriesMaxSize) this.seriesMaxSize = size;
    if (this.idMap !== undefined) this.idMap.add(sourceId, id);
    else this.postings!.add(id, this.refs, k);
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
  private checkLabels(labels: Labels, resolver: LabelRefResolver): number {
    const k = labels.length;
    if (k === 0) throw new IndexWriterError('ERR_INVALID_ARGUMENT', '{}', 'empty label set');
    if (this.refs.length < 2 * k) this.refs = new Uint32Array(2 * k);
    resolver.resolve(labels, this.refs);
    this.checkOrder(k, () => safeFormat(labels));
    return k;
  }

  /** checkLabels for a series given by refs. */
  private checkRefs(src: Uint32Array, k: number): number {
    if (!Number.isInteger(k) || k <= 0 || src.length < 2 * k) {
      throw new IndexWriterError('ERR_INVALID_ARGUMENT', '{}', `bad label count ${k}`);
    }
    if (this.refs.length < 2 * k) this.refs = new Uint32Array(2 * k);
    copyLabelRefs(src, k, this.refs, this.numSymbols, this.emptyRef, () => this.describe(src, k));
    this.checkOrder(k, () => this.describe(this.refs, k));
    return k;
  }

  /** this.refs[0 .. 2k) must sort after the previous series. */
  private checkOrder(k: number, who: () => string): void {
    const order = this.numSeries > 0 ? compareRefs(this.prevRefs, this.prevLabels, this.refs, k) : -1;
    if (order >= 0) {
      throw new IndexWriterError(
        'ERR_TSDB_OUT_OF_ORDER',
        who(),
        order === 0
          ? 'series out of order: duplicate of the previous series'
          : `series out of order: not after ${this.describe(this.prevRefs, this.prevLabels)}`,
      );
    }
  }

  private describe(refs: Uint32Array, k: number): string {
    return describeRefs(refs, k, this.symbols);
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
    const hook = this.options.postingsHook;
    const { tableAt: postingsTable, entries } =
      this.source !== undefined
        ? await writeDerivedPostings(out, this.source, this.idMap!, hook)
        : await writeCollectedPostings(out, this.postings!, this.symbols!, hook);
    this.numPostings = entries;

    const toc: IndexToc = {
      symbols: HEADER_LEN,
      series: this.seriesStart,
      labelIndices: seriesEnd,
      labelIndicesTable: postingsTable,
      postings: seriesEnd,
      postingsTable,
    };
    const p = out.write(encodeToc(toc));
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
