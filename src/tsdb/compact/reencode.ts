/**
 * Overlapping or tombstoned chunks of one output series: decoded into one sample stream per input,
 * merged (exact or penalty dedup), re-cut every `maxSamplesPerChunk` samples, and each new chunk
 * decoded again from memory and compared before it is written. Allocation is per chunk cluster,
 * never per sample.
 */
import type { BlockWriter } from '../block/writer.js';
import type { WriteSeam } from '../block/write-seam.js';
import { XorAppender } from '../chunkenc/xor.js';
import { decodeChunkInto } from '../chunkenc/chunk.js';
import type { EncodedChunk } from '../chunkenc/encode.js';
import { ENC_XOR } from '../chunkenc/encoding.js';
import { SampleBuf } from '../samples/sample-buf.js';
import { mergeExact, mergeReplicas, type DedupMode } from '../samples/dedup.js';
import { CompactionInputError } from './errors.js';
import { hits, type Entry, type InputSeries } from './input-series.js';
import { HistClusterReencoder } from './reencode-hist.js';
import { isHistogramEncoding } from '../samples/mixed.js';
import { errorMessage, StrataError } from '../../util/errors.js';

/** Receives each written chunk: its range and ref. */
const EMPTY = new Uint8Array(0);

export type EmitChunk = (mint: number, maxt: number, ref: number) => void;

export class ClusterReencoder {
  /** Chunks written. */
  reencodedChunks = 0;
  private readonly app = new XorAppender();
  private readonly tmp = new SampleBuf();
  private readonly merged = new SampleBuf();
  private readonly check = new SampleBuf();
  private streams: SampleBuf[] = [];
  private readonly active: SampleBuf[] = [];
  private readonly inputs: InputSeries[] = [];
  private readonly replicaOf: number[] = [];
  /** The chunk being written (reused; its data is the appender's view). */
  private readonly chunk: EncodedChunk = { mint: 0, maxt: 0, encoding: ENC_XOR, data: EMPTY, numSamples: 0 };
  private replicaBufs: SampleBuf[] = [];
  /** Set by decodeAppend on meeting a histogram chunk: the cluster goes to `hist` instead. */
  private sawHistogram = false;
  private hist: HistClusterReencoder | undefined;

  constructor(
    private readonly writer: BlockWriter,
    private readonly dedup: DedupMode,
    private readonly maxSamplesPerChunk: number,
    private readonly seam: WriteSeam | undefined,
  ) {}

  async reencode(group: readonly Entry[], seriesName: () => string, emit: EmitChunk): Promise<void> {
    // One stream per input, in input order (chunks of one input never overlap).
    const inputs = this.inputs;
    inputs.length = 0;
    for (let i = 0; i < group.length; i++) {
      const s = group[i]!.s;
      if (inputs.includes(s)) continue;
      // Insertion by input order (Array#sort allocates per call).
      let j = inputs.length;
      for (; j > 0 && inputs[j - 1]!.input > s.input; j--) inputs[j] = inputs[j - 1]!;
      inputs[j] = s;
    }
    while (this.streams.length < inputs.length) this.streams.push(new SampleBuf());
    for (let k = 0; k < inputs.length; k++) {
      const s = inputs[k]!;
      const buf = this.streams[k]!;
      buf.reset();
      for (let i = 0; i < group.length; i++) {
        const e = group[i]!;
        if (e.s !== s) continue;
        const p = this.decodeAppend(e, buf, seriesName);
        if (p !== undefined) await p;
        if (this.sawHistogram) break;
      }
      if (this.sawHistogram) break;
    }
    if (this.sawHistogram) {
      // Histogram chunks (alone or mixed with floats): decoded again by the histogram path.
      this.sawHistogram = false;
      this.hist ??= new HistClusterReencoder(this.writer, this.dedup, this.maxSamplesPerChunk, this.seam);
      this.reencodedChunks += await this.hist.reencode(inputs, group, seriesName, emit);
      return;
    }
    const streams = this.active;
    streams.length = 0;
    for (let k = 0; k < inputs.length; k++) streams.push(this.streams[k]!);
    if (this.dedup === 'penalty') this.mergeReplicas(inputs, streams);
    else mergeExact(streams, this.merged);
    const merged = this.merged;
    const c = this.chunk;
    for (let from = 0; from < merged.len; from += this.maxSamplesPerChunk) {
      const to = Math.min(merged.len, from + this.maxSamplesPerChunk);
      this.app.reset();
      this.app.appendRange(merged.ts, merged.hi, merged.lo, from, to);
      // The appender's bytes, not a copy: written (or copied into the write buffer) before the
      // next reset.
      c.data = this.app.bytes();
      c.mint = merged.ts[from]!;
      c.maxt = merged.ts[to - 1]!;
      c.numSamples = to - from;
      this.seam?.encodedChunk?.(c);
      this.checkEncoded(c, from, seriesName);
      const r = this.writer.writeChunk(c);
      emit(c.mint, c.maxt, typeof r === 'number' ? r : await r);
      this.reencodedChunks++;
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

  private replicasOf(inputs: readonly InputSeries[]): number[] {
    const r = this.replicaOf;
    r.length = 0;
    for (let i = 0; i < inputs.length; i++) r.push(inputs[i]!.replica);
    return r;
  }

  /** Exact merge within each replica, then Thanos' penalty merge across replicas. */
  private mergeReplicas(inputs: readonly InputSeries[], streams: readonly SampleBuf[]): void {
    mergeReplicas(streams, this.replicasOf(inputs), this.merged, this.replicaBufs);
  }

  /** Decodes one input chunk onto `buf`; a promise only when the chunk must be read from disk. */
  private decodeAppend(e: Entry, buf: SampleBuf, seriesName: () => string): Promise<void> | undefined {
    const chunks = e.s.block.chunks;
    try {
      const chunk = chunks.tryReadRaw(e.c.ref);
      if (chunk === undefined) return this.decodeAppendSlow(e, buf, seriesName);
      if (isHistogramEncoding(chunk.encoding)) {
        this.sawHistogram = true;
        return undefined;
      }
      // An encoding Strata cannot decode fails here (ERR_TSDB_UNKNOWN_ENCODING, kept by wrap).
      decodeChunkInto(chunk, this.tmp, chunks.fileFor(e.c.ref));
    } catch (err) {
      throw CompactionInputError.wrap(err, e.s.block.ulid, seriesName());
    }
    this.appendDecoded(e, buf, seriesName);
    return undefined;
  }

  private async decodeAppendSlow(e: Entry, buf: SampleBuf, seriesName: () => string): Promise<void> {
    try {
      const chunk = await e.s.block.chunks.read(e.c.ref);
      if (isHistogramEncoding(chunk.encoding)) {
        this.sawHistogram = true;
        return;
      }
      decodeChunkInto(chunk, this.tmp, e.s.block.chunks.fileFor(e.c.ref));
    } catch (err) {
      throw CompactionInputError.wrap(err, e.s.block.ulid, seriesName());
    }
    this.appendDecoded(e, buf, seriesName);
  }

  /** this.tmp's samples onto `buf`: after its last sample, outside tombstones, in order. */
  private appendDecoded(e: Entry, buf: SampleBuf, seriesName: () => string): void {
    const tmp = this.tmp;
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
