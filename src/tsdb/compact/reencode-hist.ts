/**
 * Re-encoding of clusters that hold histogram chunks (encodings 2 and 3), alone or mixed with XOR
 * chunks of the same series: decoded, merged and re-encoded by the shared mixed-kind code
 * (samples/mixed.ts: one definition for compaction, store and querier), here with the
 * compactor's input checks (order inside a chunk, tombstones) and its writer.
 */
import type { BlockWriter } from '../block/writer.js';
import type { WriteSeam } from '../block/write-seam.js';
import type { StoredChunk } from '../chunkenc/chunk.js';
import type { EncodedChunk } from '../chunkenc/encode.js';
import { mergeExact, mergeReplicas, type DedupMode } from '../samples/dedup.js';
import { MixedEncoder, MixedSamples } from '../samples/mixed.js';
import { SampleBuf } from '../samples/sample-buf.js';
import { CompactionInputError } from './errors.js';
import { hits, type Entry, type InputSeries } from './input-series.js';

export type EmitChunk = (mint: number, maxt: number, ref: number) => void;

export class HistClusterReencoder {
  private readonly streams: SampleBuf[] = [];
  private readonly merged = new SampleBuf();
  private readonly replicaBufs: SampleBuf[] = [];
  private readonly replicaOf: number[] = [];
  private readonly samples = new MixedSamples();
  private readonly encoder: MixedEncoder;

  constructor(
    private readonly writer: BlockWriter,
    private readonly dedup: DedupMode,
    maxSamplesPerChunk: number,
    private readonly seam: WriteSeam | undefined,
  ) {
    this.encoder = new MixedEncoder(maxSamplesPerChunk);
  }

  /** Merges and writes the cluster `group` of `inputs` (sorted by priority); returns chunks written. */
  async reencode(
    inputs: readonly InputSeries[],
    group: readonly Entry[],
    seriesName: () => string,
    emit: EmitChunk,
  ): Promise<number> {
    this.samples.reset();
    while (this.streams.length < inputs.length) this.streams.push(new SampleBuf());
    const streams = this.streams.slice(0, inputs.length);
    for (let k = 0; k < inputs.length; k++) {
      const s = inputs[k]!;
      streams[k]!.reset();
      for (const e of group) {
        if (e.s !== s) continue;
        const chunks = s.block.chunks;
        try {
          const chunk = chunks.tryReadRaw(e.c.ref) ?? (await chunks.read(e.c.ref));
          this.decodeAppend(e, chunk, chunks.fileFor(e.c.ref), streams[k]!, seriesName);
        } catch (err) {
          throw CompactionInputError.wrap(err, s.block.ulid, seriesName());
        }
      }
    }
    const merged = this.merged;
    if (this.dedup === 'penalty') {
      const r = this.replicaOf;
      r.length = 0;
      for (const s of inputs) r.push(s.replica);
      mergeReplicas(streams, r, merged, this.replicaBufs);
    } else mergeExact(streams, merged);
    this.samples.fixHints(merged);
    const chunks = this.encoder.encode(merged, this.samples, seriesName);
    for (const c of chunks) await this.write(c, emit);
    return chunks.length;
  }

  /** One input chunk's samples onto `buf`: after its last sample, outside tombstones, in order. */
  private decodeAppend(
    e: Entry,
    chunk: StoredChunk,
    file: string,
    buf: SampleBuf,
    seriesName: () => string,
  ): void {
    const deleted = e.s.deleted;
    let prev = -Infinity;
    this.samples.appendChunk(chunk, file, buf, (t) => {
      if (!(t > prev) && prev !== -Infinity) {
        throw new CompactionInputError(
          'ERR_TSDB_OUT_OF_ORDER',
          e.s.block.ulid,
          seriesName(),
          `chunk ref ${e.c.ref}: sample at ${t} after ${prev}`,
        );
      }
      prev = t;
      return !(deleted && hits(deleted, t, t));
    });
  }

  private async write(c: EncodedChunk, emit: EmitChunk): Promise<void> {
    this.seam?.encodedChunk?.(c);
    const r = this.writer.writeChunk(c);
    emit(c.mint, c.maxt, typeof r === 'number' ? r : await r);
  }
}
