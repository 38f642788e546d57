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
import { encodeXorChunks, type EncodedChunk } from '../chunkenc/encode.js';
import { SampleBuf } from '../samples/sample-buf.js';
import { mergeExact, mergeReplicas, type DedupMode } from '../samples/dedup.js';
import { CompactionInputError } from './errors.js';
import { hits, type Entry, type InputSeries } from './input-series.js';
import { errorMessage, StrataError } from '../../util/errors.js';

/** Receives each written chunk: its range and ref. */
export type EmitChunk = (mint: number, maxt: number, ref: number) => void;

export class ClusterReencoder {
  /** Chunks written. */
  reencodedChunks = 0;
  private readonly app = new XorAppender();
  private readonly tmp = new SampleBuf();
  private readonly merged = new SampleBuf();
  private readonly check = new SampleBuf();
  private streams: SampleBuf[] = [];
  private replicaBufs: SampleBuf[] = [];

  constructor(
    private readonly writer: BlockWriter,
    private readonly dedup: DedupMode,
    private readonly maxSamplesPerChunk: number,
    private readonly seam: WriteSeam | undefined,
  ) {}

  async reencode(group: readonly Entry[], seriesName: () => string, emit: EmitChunk): Promise<void> {
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
      emit(c.mint, c.maxt, ref);
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
