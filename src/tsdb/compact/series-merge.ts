/**
 * The chunks of one output series from the same series in several inputs. Chunks that overlap
 * nothing are copied byte for byte; exact duplicates (same range and bytes) are copied once;
 * overlapping chunks are decoded, merged (exact or penalty dedup) and re-cut every
 * `maxSamplesPerChunk` samples; chunks hit by tombstones are re-encoded without the deleted
 * samples. Allocation is per chunk cluster, never per sample.
 */
import type { BlockReader } from '../block/reader.js';
import type { BlockWriter } from '../block/writer.js';
import type { ChunkMeta } from '../index/format.js';
import type { RawChunkView } from '../chunks/reader.js';
import { XorAppender } from '../chunkenc/xor.js';
import { decodeChunkInto } from '../chunkenc/chunk.js';
import { encodeXorChunks, type EncodedChunk } from '../chunkenc/encode.js';
import type { Interval } from '../tombstones/tombstones.js';
import { SampleBuf } from '../samples/sample-buf.js';
import { mergeExact, mergeReplicas, type DedupMode } from '../samples/dedup.js';
import { CompactionInputError } from './errors.js';
import { overlapClusters } from '../chunks/overlap.js';
import type { WriteSeam } from '../block/write-seam.js';
import { errorCode, errorMessage, StrataError } from '../../util/errors.js';

export interface InputSeries {
  /** Priority: inputs are sorted oldest block first; a later input wins timestamp ties. */
  input: number;
  /** Replica group of the input (penalty dedup). */
  replica: number;
  block: BlockReader;
  chunks: readonly ChunkMeta[];
  deleted: readonly Interval[] | undefined;
}

interface Entry {
  s: InputSeries;
  c: ChunkMeta;
}

const entryMint = (e: Entry): number => e.c.mint;
const entryMaxt = (e: Entry): number => e.c.maxt;

export interface MergeStats {
  copiedChunks: number;
  reencodedChunks: number;
  droppedDuplicateChunks: number;
}

function hits(deleted: readonly Interval[] | undefined, mint: number, maxt: number): boolean {
  if (!deleted) return false;
  for (const iv of deleted) if (iv.mint <= maxt && iv.maxt >= mint) return true;
  return false;
}

export class SeriesMerger {
  readonly stats: MergeStats = { copiedChunks: 0, reencodedChunks: 0, droppedDuplicateChunks: 0 };
  private readonly out: ChunkMeta[] = [];
  /** ChunkMeta objects reused across series: `out` holds the first numOut of them. */
  private readonly metaPool: ChunkMeta[] = [];
  private numOut = 0;
  private readonly app = new XorAppender();
  private readonly tmp = new SampleBuf();
  private readonly merged = new SampleBuf();
  private readonly check = new SampleBuf();
  private streams: SampleBuf[] = [];
  private replicaBufs: SampleBuf[] = [];
  private readonly order: InputSeries[] = [];
  private firstBytes: Buffer = Buffer.allocUnsafe(4096);
  private firstLen = 0;

  constructor(
    private readonly writer: BlockWriter,
    private readonly dedup: DedupMode,
    private readonly maxSamplesPerChunk: number,
    private readonly seam?: WriteSeam,
  ) {}

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
    return this.mergeOverlapping(seriesName, inputs);
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
    await this.reencode(group, seriesName);
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
    this.stats.copiedChunks++;
  }

  /** Copies through the writer; a CRC mismatch names the input block, series and chunk. */
  private copyRaw(
    raw: RawChunkView,
    c: ChunkMeta,
    s: InputSeries,
    seriesName: () => string,
  ): number | Promise<number> {
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
   * newest input's chunk (the last one read, its view still valid) and drops the others.
   */
  private async copyIfIdentical(group: readonly Entry[], seriesName: () => string): Promise<boolean> {
    const f = group[0]!;
    for (const e of group) {
      if (e.c.mint !== f.c.mint || e.c.maxt !== f.c.maxt || hits(e.s.deleted, e.c.mint, e.c.maxt))
        return false;
    }
    let raw: RawChunkView | undefined;
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
      if (i === 0) {
        // Views are valid until the reader's next read: keep the first chunk's bytes.
        const n = raw.end - raw.start;
        if (this.firstBytes.length < n) this.firstBytes = Buffer.allocUnsafe(2 * n);
        raw.buf.copy(this.firstBytes, 0, raw.start, raw.end);
        this.firstLen = n;
      } else if (raw.buf.compare(this.firstBytes, 0, this.firstLen, raw.start, raw.end) !== 0) {
        return false;
      }
    }
    const last = group[group.length - 1]!;
    const ref = await this.copyRaw(raw!, last.c, last.s, seriesName);
    this.emit(last.c.mint, last.c.maxt, ref);
    this.stats.copiedChunks++;
    this.stats.droppedDuplicateChunks += group.length - 1;
    return true;
  }

  private async reencode(group: readonly Entry[], seriesName: () => string): Promise<void> {
    // One stream per input, in input order (chunks of one input never overlap).
    const inputs: InputSeries[] = [];
    for (const e of group) if (!inputs.includes(e.s)) inputs.push(e.s);
    inputs.sort((a, b) => a.input - b.input);
    while (this.streams.length < inputs.length) this.streams.push(new SampleBuf());
    for (let k = 0; k < inputs.length; k++) {
      const s = inputs[k]!;
      const buf = this.streams[k]!;
      buf.reset();
      for (const e of group) {
        if (e.s !== s) continue;
        await this.decodeAppend(e, buf, seriesName);
      }
    }
    const streams = this.streams.slice(0, inputs.length);
    if (this.dedup === 'penalty') this.mergeReplicas(inputs, streams);
    else mergeExact(streams, this.merged);
    if (this.merged.len === 0) return;
    let from = 0;
    for (const c of encodeXorChunks(this.merged, this.maxSamplesPerChunk, this.app)) {
      this.seam?.encodedChunk?.(c);
      this.checkEncoded(c, from, seriesName);
      from += c.numSamples;
      const ref = await this.writer.writeChunk(c);
      this.emit(c.mint, c.maxt, ref);
      this.stats.reencodedChunks++;
    }
  }

  /** Decodes a re-encoded chunk from memory: it must hold merged samples [from, from + n) bit for bit. */
  private checkEncoded(c: EncodedChunk, from: number, seriesName: () => string): void {
    const got = this.check;
    const want = this.merged;
    let bad = -1;
    try {
      decodeChunkInto({ encoding: c.encoding, data: c.data, dataOffset: 0 }, got, 're-encoded chunk');
      if (got.len !== c.numSamples) bad = Math.min(got.len, c.numSamples);
      for (let i = 0; bad < 0 && i < got.len; i++) {
        const j = from + i;
        if (got.ts[i] !== want.ts[j] || got.hi[i] !== want.hi[j] || got.lo[i] !== want.lo[j]) bad = i;
      }
    } catch (err) {
      throw new StrataError(
        'ERR_TSDB_CORRUPT',
        `series ${seriesName()}: re-encoded chunk [${c.mint}, ${c.maxt}] does not decode: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    if (bad >= 0 || c.mint !== want.ts[from] || c.maxt !== want.ts[from + c.numSamples - 1]) {
      throw new StrataError(
        'ERR_TSDB_CORRUPT',
        `series ${seriesName()}: re-encoded chunk [${c.mint}, ${c.maxt}] does not hold the samples it was encoded from (${bad >= 0 ? `first difference at sample ${bad}` : 'range differs'})`,
      );
    }
  }

  /** Exact merge within each replica, then Thanos' penalty merge across replicas. */
  private mergeReplicas(inputs: readonly InputSeries[], streams: readonly SampleBuf[]): void {
    mergeReplicas(
      streams,
      inputs.map((s) => s.replica),
      this.merged,
      this.replicaBufs,
    );
  }

  private async decodeAppend(e: Entry, buf: SampleBuf, seriesName: () => string): Promise<void> {
    const tmp = this.tmp;
    try {
      const chunk = await e.s.block.chunks.read(e.c.ref);
      // An encoding Strata cannot decode fails here (ERR_TSDB_UNKNOWN_ENCODING, kept by wrap).
      decodeChunkInto(chunk, tmp, e.s.block.chunks.fileFor(e.c.ref));
    } catch (err) {
      throw CompactionInputError.wrap(err, e.s.block.ulid, seriesName());
    }
    const deleted = e.s.deleted;
    const last = buf.len > 0 ? buf.ts[buf.len - 1]! : -Infinity;
    for (let i = 0; i < tmp.len; i++) {
      const t = tmp.ts[i]!;
      if (i > 0 && t <= tmp.ts[i - 1]!) {
        throw new CompactionInputError(
          'ERR_TSDB_OUT_OF_ORDER',
          e.s.block.ulid,
          seriesName(),
          `chunk ref ${e.c.ref}: sample at ${t} after ${tmp.ts[i - 1]}`,
        );
      }
      if (t <= last) continue;
      if (deleted && hits(deleted, t, t)) continue;
      buf.push(t, tmp.hi[i]!, tmp.lo[i]!);
    }
  }
}

function byFirstMint(a: InputSeries, b: InputSeries): number {
  return a.chunks[0]!.mint - b.chunks[0]!.mint;
}

/** An input series' own chunks must be in order and must not overlap. */
function checkOrder(s: InputSeries, seriesName: () => string): void {
  const cs = s.chunks;
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (c.maxt < c.mint) {
      throw new CompactionInputError(
        'ERR_TSDB_CORRUPT',
        s.block.ulid,
        seriesName(),
        `chunk [${c.mint}, ${c.maxt}] has maxt < mint`,
      );
    }
    if (i === 0) continue;
    const p = cs[i - 1]!;
    if (c.mint < p.mint) {
      throw new CompactionInputError(
        'ERR_TSDB_OUT_OF_ORDER',
        s.block.ulid,
        seriesName(),
        `chunk [${c.mint}, ${c.maxt}] comes after chunk [${p.mint}, ${p.maxt}]: chunks out of order`,
      );
    }
    if (c.mint <= p.maxt) {
      throw new CompactionInputError(
        'ERR_TSDB_OVERLAP',
        s.block.ulid,
        seriesName(),
        `chunk [${c.mint}, ${c.maxt}] overlaps chunk [${p.mint}, ${p.maxt}] in the same series`,
      );
    }
  }
}
