/**
 * The chunks of one output series from the same series in several inputs. Chunks that overlap
 * nothing are copied byte for byte; exact duplicates (same range and bytes) are copied once;
 * overlapping chunks and chunks hit by tombstones go to the re-encoder (reencode.ts). The copy
 * paths run without a promise per chunk while the bytes are read ahead and the writer's buffer
 * has room. Copied histogram chunks get a head check on the way (sample count, layout, first
 * timestamp = the index's mint; off with compactBlocks' verify: false); their samples, like XOR
 * chunks', are covered by the CRC.
 */
import type { BlockWriter } from '../block/writer.js';
import type { ChunkMeta } from '../index/format.js';
import type { RawChunkView } from '../chunks/reader.js';
import type { DedupMode } from '../samples/dedup.js';
import { CompactionInputError } from './errors.js';
import { overlapClusters } from '../chunks/overlap.js';
import type { WriteSeam } from '../block/write-seam.js';
import { errorCode, errorMessage } from '../../util/errors.js';
import { ClusterReencoder } from './reencode.js';
import { checkHistogramChunkHead } from '../chunkenc/histogram-codec.js';
import { ENC_FLOAT_HISTOGRAM, ENC_HISTOGRAM } from '../chunkenc/encoding.js';
import {
  byFirstMint,
  checkOrder,
  entryMaxt,
  entryMint,
  hits,
  type Entry,
  type InputSeries,
} from './input-series.js';

export interface MergeStats {
  copiedChunks: number;
  reencodedChunks: number;
  droppedDuplicateChunks: number;
}

export class SeriesMerger {
  private readonly counts = { copiedChunks: 0, droppedDuplicateChunks: 0 };
  private readonly out: ChunkMeta[] = [];
  /** ChunkMeta objects reused across series: `out` holds the first numOut of them. */
  private readonly metaPool: ChunkMeta[] = [];
  private numOut = 0;
  private readonly order: InputSeries[] = [];

  private readonly reencoder: ClusterReencoder;
  private readonly emitBound = this.emit.bind(this);

  constructor(
    private readonly writer: BlockWriter,
    dedup: DedupMode,
    maxSamplesPerChunk: number,
    seam?: WriteSeam,
    /** Head-check histogram chunks copied byte for byte (off only with compactBlocks' verify: false). */
    private readonly checkHistogramCopies = true,
  ) {
    this.reencoder = new ClusterReencoder(writer, dedup, maxSamplesPerChunk, seam);
  }

  get stats(): MergeStats {
    return { ...this.counts, reencodedChunks: this.reencoder.reencodedChunks };
  }

  /**
   * Writes the series' chunks; returns their metas for the index (valid until the next call), or
   * a promise of them when a chunk had to wait for I/O or be merged.
   */
  merge(
    seriesName: () => string,
    inputs: readonly InputSeries[],
  ): readonly ChunkMeta[] | Promise<readonly ChunkMeta[]> {
    this.out.length = 0;
    this.numOut = 0;
    for (let i = 0; i < inputs.length; i++) checkOrder(inputs[i]!, seriesName);
    if (this.inDisjointOrder(inputs)) {
      // Horizontal compaction: the inputs follow each other in time and nothing is deleted, so
      // every chunk passes through, input after input.
      const order = this.order;
      for (let i = 0; i < order.length; i++) {
        const s = order[i]!;
        for (let j = 0; j < s.chunks.length; j++) {
          const p = this.copyChunk(s, s.chunks[j]!, seriesName);
          if (p !== undefined) return this.copyRest(p, i, j, seriesName);
        }
      }
      return this.out;
    }
    if (this.aligned(inputs)) {
      // Vertical compaction of replicas whose chunks start and end together: position i of every
      // input is one cluster, copied once when the bytes are identical.
      const n = inputs[0]!.chunks.length;
      for (let i = 0; i < n; i++) {
        const r = this.copyIdenticalNow(inputs, i, seriesName);
        if (r !== true) return this.alignedRest(r, inputs, i, seriesName);
      }
      return this.out;
    }
    return this.mergeOverlapping(seriesName, inputs);
  }

  /** More than one input, none with tombstones, the same number of chunks with the same ranges. */
  private aligned(inputs: readonly InputSeries[]): boolean {
    if (inputs.length < 2) return false;
    const first = inputs[0]!.chunks;
    for (let k = 0; k < inputs.length; k++) {
      const s = inputs[k]!;
      if (s.deleted !== undefined || s.chunks.length !== first.length) return false;
      if (k === 0) continue;
      for (let i = 0; i < first.length; i++) {
        const a = first[i]!;
        const b = s.chunks[i]!;
        if (a.mint !== b.mint || a.maxt !== b.maxt) return false;
      }
    }
    return true;
  }

  /**
   * Position i of aligned inputs when every input's chunk is already read ahead and all are byte
   * for byte identical: copies the newest input's (true), or a promise when the write waits for
   * I/O. False when that cannot be decided without I/O or the bytes differ: nothing was written.
   */
  private copyIdenticalNow(
    inputs: readonly InputSeries[],
    i: number,
    seriesName: () => string,
  ): boolean | Promise<void> {
    let raw: RawChunkView | undefined;
    // One reader (and view) per input and no wait here: the first chunk is compared in place.
    let first: RawChunkView | undefined;
    for (let k = 0; k < inputs.length; k++) {
      // No CRC check here, as in copyIfIdentical; a read error is reported by the slow path.
      try {
        raw = inputs[k]!.block.chunks.tryReadRaw(inputs[k]!.chunks[i]!.ref, false);
      } catch {
        return false;
      }
      if (raw === undefined) return false;
      if (first === undefined) first = raw;
      else if (raw.buf.compare(first.buf, first.start, first.end, raw.start, raw.end) !== 0) return false;
    }
    const last = inputs[inputs.length - 1]!;
    const c = last.chunks[i]!;
    this.counts.droppedDuplicateChunks += inputs.length - 1;
    const ref = this.copyRaw(raw!, c, last, seriesName);
    if (typeof ref !== 'number') return this.copiedLater(c, ref);
    this.copied(c, ref);
    return true;
  }

  /** The aligned path from position i on, after `r` (a write to finish, or false: not done). */
  private async alignedRest(
    r: false | Promise<void>,
    inputs: readonly InputSeries[],
    i: number,
    seriesName: () => string,
  ): Promise<readonly ChunkMeta[]> {
    if (r !== false) {
      await r;
      i++;
    }
    const n = inputs[0]!.chunks.length;
    for (; i < n; i++) {
      const group: Entry[] = inputs.map((s) => ({ s, c: s.chunks[i]! }));
      await this.cluster(group, seriesName);
    }
    return this.out;
  }

  /** The disjoint path after a chunk that waited for I/O: the rest of `this.order` from (i, j + 1). */
  private async copyRest(
    p: Promise<void>,
    i: number,
    j: number,
    seriesName: () => string,
  ): Promise<readonly ChunkMeta[]> {
    await p;
    const order = this.order;
    for (; i < order.length; i++, j = -1) {
      const chunks = order[i]!.chunks;
      for (j++; j < chunks.length; j++) {
        const q = this.copyChunk(order[i]!, chunks[j]!, seriesName);
        if (q !== undefined) await q;
      }
    }
    return this.out;
  }

  private async mergeOverlapping(
    seriesName: () => string,
    inputs: readonly InputSeries[],
  ): Promise<readonly ChunkMeta[]> {
    if (inputs.length === 1) {
      const s = inputs[0]!;
      for (const c of s.chunks) await this.cluster([{ s, c }], seriesName);
      return this.out;
    }
    const entries: Entry[] = [];
    for (const s of inputs) for (const c of s.chunks) entries.push({ s, c });
    entries.sort((a, b) => a.c.mint - b.c.mint || a.s.input - b.s.input);
    for (const group of overlapClusters(entries, entryMint, entryMaxt)) await this.cluster(group, seriesName);
    return this.out;
  }

  /**
   * True when no input has tombstones for the series and the inputs' time spans do not overlap;
   * `this.order` then holds the inputs in time order.
   */
  private inDisjointOrder(inputs: readonly InputSeries[]): boolean {
    const order = this.order;
    order.length = 0;
    for (let i = 0; i < inputs.length; i++) {
      const s = inputs[i]!;
      if (s.deleted !== undefined) return false;
      if (s.chunks.length > 0) order.push(s);
    }
    // Insertion sort: a handful of inputs, and Array#sort allocates per call.
    for (let i = 1; i < order.length; i++) {
      const s = order[i]!;
      let j = i;
      for (; j > 0 && byFirstMint(order[j - 1]!, s) > 0; j--) order[j] = order[j - 1]!;
      order[j] = s;
    }
    for (let i = 1; i < order.length; i++) {
      const prev = order[i - 1]!.chunks;
      if (order[i]!.chunks[0]!.mint <= prev[prev.length - 1]!.maxt) return false;
    }
    return true;
  }

  private async cluster(group: readonly Entry[], seriesName: () => string): Promise<void> {
    const first = group[0]!;
    if (group.length === 1 && !hits(first.s.deleted, first.c.mint, first.c.maxt)) {
      await this.copy(first, seriesName);
      return;
    }
    if (group.length > 1 && (await this.copyIfIdentical(group, seriesName))) return;
    await this.reencoder.reencode(group, seriesName, this.emitBound);
  }

  private async copy(e: Entry, seriesName: () => string): Promise<void> {
    const p = this.copyChunk(e.s, e.c, seriesName);
    if (p !== undefined) await p;
  }

  /**
   * Copies one chunk; synchronous (undefined) when its bytes were already read ahead and fit the
   * write buffer, the common case: no promise per chunk.
   */
  private copyChunk(s: InputSeries, c: ChunkMeta, seriesName: () => string): Promise<void> | undefined {
    let raw;
    try {
      // The CRC is checked by the writer, on the bytes as they are written.
      raw = s.block.chunks.tryReadRaw(c.ref, false);
    } catch (err) {
      throw CompactionInputError.wrap(err, s.block.ulid, seriesName());
    }
    if (raw === undefined) return this.copyChunkSlow(s, c, seriesName);
    const ref = this.copyRaw(raw, c, s, seriesName);
    if (typeof ref !== 'number') return this.copiedLater(c, ref);
    this.copied(c, ref);
    return undefined;
  }

  // Promise continuations live in their own functions: a closure in copyChunk would make V8
  // allocate its context on every call, the synchronous ones included.
  private async copiedLater(c: ChunkMeta, ref: Promise<number>): Promise<void> {
    this.copied(c, await ref);
  }

  private async copyChunkSlow(s: InputSeries, c: ChunkMeta, seriesName: () => string): Promise<void> {
    let raw;
    try {
      raw = await s.block.chunks.readRaw(c.ref, false);
    } catch (err) {
      throw CompactionInputError.wrap(err, s.block.ulid, seriesName());
    }
    this.copied(c, await this.copyRaw(raw, c, s, seriesName));
  }

  private emit(mint: number, maxt: number, ref: number): void {
    let m = this.metaPool[this.numOut];
    if (m === undefined) {
      m = { mint, maxt, ref };
      this.metaPool.push(m);
    } else {
      m.mint = mint;
      m.maxt = maxt;
      m.ref = ref;
    }
    this.numOut++;
    this.out.push(m);
  }

  private copied(c: ChunkMeta, ref: number): void {
    this.emit(c.mint, c.maxt, ref);
    this.counts.copiedChunks++;
  }

  /** Copies through the writer; a CRC mismatch names the input block, series and chunk. */
  private copyRaw(
    raw: RawChunkView,
    c: ChunkMeta,
    s: InputSeries,
    seriesName: () => string,
  ): number | Promise<number> {
    if (
      this.checkHistogramCopies &&
      (raw.encoding === ENC_HISTOGRAM || raw.encoding === ENC_FLOAT_HISTOGRAM)
    ) {
      this.checkHistogram(raw, c, s, seriesName);
    }
    try {
      const r = this.writer.copyRawChunk(raw, c.mint, c.maxt);
      if (typeof r === 'number') return r;
      return this.copyRawLater(r, c, s, seriesName);
    } catch (err) {
      throw this.copyError(err, c, s, seriesName);
    }
  }

  private async copyRawLater(
    r: Promise<number>,
    c: ChunkMeta,
    s: InputSeries,
    seriesName: () => string,
  ): Promise<number> {
    try {
      return await r;
    } catch (err) {
      throw this.copyError(err, c, s, seriesName);
    }
  }

  /** Head check of a histogram chunk about to be copied (see histogram-codec.ts), naming block and series. */
  private checkHistogram(raw: RawChunkView, c: ChunkMeta, s: InputSeries, seriesName: () => string): void {
    try {
      const data = raw.buf.subarray(raw.dataStart, raw.dataEnd);
      checkHistogramChunkHead(data, s.block.chunks.fileFor(c.ref), raw.dataOffset, c.mint);
    } catch (err) {
      throw CompactionInputError.wrap(err, s.block.ulid, seriesName());
    }
  }

  private copyError(err: unknown, c: ChunkMeta, s: InputSeries, seriesName: () => string): unknown {
    if (errorCode(err) !== 'ERR_TSDB_CHECKSUM') return err;
    return new CompactionInputError(
      'ERR_TSDB_CHECKSUM',
      s.block.ulid,
      seriesName(),
      `${s.block.chunks.fileFor(c.ref)} chunk ref ${c.ref}: ${errorMessage(err)}`,
      err,
    );
  }

  /**
   * Same range and same bytes in every input (replicas that ingested identical data): writes the
   * newest input's chunk (the last one read, its view still valid) and drops the others. A view is
   * valid until its own reader reads again, and each input has its own reader: the first one is
   * compared in place, as in copyIdenticalNow.
   */
  private async copyIfIdentical(group: readonly Entry[], seriesName: () => string): Promise<boolean> {
    const f = group[0]!;
    for (const e of group) {
      if (e.c.mint !== f.c.mint || e.c.maxt !== f.c.maxt || hits(e.s.deleted, e.c.mint, e.c.maxt))
        return false;
    }
    let raw: RawChunkView | undefined;
    let first: RawChunkView | undefined;
    for (let i = 0; i < group.length; i++) {
      const e = group[i]!;
      try {
        // No CRC check here: the others must equal the first byte for byte, CRC field included,
        // and the one written is checked by the writer (a chunk that differs is read again,
        // checked, by reencode()).
        const chunks = e.s.block.chunks;
        raw = chunks.tryReadRaw(e.c.ref, false) ?? (await chunks.readRaw(e.c.ref, false));
      } catch (err) {
        throw CompactionInputError.wrap(err, e.s.block.ulid, seriesName());
      }
      if (first === undefined) first = raw;
      else if (raw.buf.compare(first.buf, first.start, first.end, raw.start, raw.end) !== 0) return false;
    }
    const last = group[group.length - 1]!;
    const ref = await this.copyRaw(raw!, last.c, last.s, seriesName);
    this.emit(last.c.mint, last.c.maxt, ref);
    this.counts.copiedChunks++;
    this.counts.droppedDuplicateChunks += group.length - 1;
    return true;
  }
}
