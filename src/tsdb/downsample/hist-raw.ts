/**
 * Raw → aggregated downsampling of one native histogram series, as Thanos' DownsampleRaw does it
 * for histogram samples (downsampleRawLoop + downsampleHistogramBatch): the same batches as for
 * floats (about expected windows / 140 per chunk, extended to the end of the last window), NaN-sum
 * samples dropped, and per window three aggregates:
 *
 * - count: the number of samples (an XOR sub-chunk);
 * - sum: the sum of the window's histograms at the batch's smallest schema (a float-histogram
 *   sub-chunk with the gauge header);
 * - counter: the running total from the batch's first sample, resets applied (a float-histogram
 *   sub-chunk; gauge header when the batch's first sample is a gauge histogram). Unlike the float
 *   counter there is no extra first/last raw point.
 *
 * min and max are absent. The chunk's index range is [first window end, last window end].
 */
import { ENC_FLOAT_HISTOGRAM, ENC_THANOS_AGGR, ENC_XOR } from '../chunkenc/encoding.js';
import type { EncodedChunk } from '../chunkenc/encode.js';
import { XorAppender } from '../chunkenc/xor-encode.js';
import { HINT_GAUGE } from '../histogram/types.js';
import { AGGR_COUNT, AGGR_COUNTER, AGGR_SUM, encodeAggrChunk, type AggrSubChunks } from './aggr-chunk.js';
import { FloatHistSubChunk, HistSeries, histWindows } from './hist-aggregator.js';
import { rawBatches } from './raw.js';

/** Encoding bytes of a histogram aggregated chunk's sub-chunks (count XOR, sum/counter float histogram). */
export const HIST_AGGR_ENCODINGS: readonly number[] = [
  ENC_XOR,
  ENC_FLOAT_HISTOGRAM,
  0,
  0,
  ENC_FLOAT_HISTOGRAM,
];

/** Builds one histogram aggregated chunk window by window. */
export class HistAggrChunkBuilder {
  readonly count = new XorAppender();
  readonly sum = new FloatHistSubChunk();
  readonly counter = new FloatHistSubChunk();
  mint = Infinity;
  maxt = -Infinity;

  reset(gauge: boolean): void {
    this.count.reset();
    this.sum.reset(true);
    this.counter.reset(gauge);
    this.mint = Infinity;
    this.maxt = -Infinity;
  }

  see(t: number): void {
    if (t < this.mint) this.mint = t;
    if (t > this.maxt) this.maxt = t;
  }

  /** The aggregated chunk: count, sum and counter where they hold samples. */
  encode(): EncodedChunk {
    const subs: (Uint8Array | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
    if (this.count.numSamples > 0) subs[AGGR_COUNT] = this.count.bytes();
    if (this.sum.numSamples > 0) subs[AGGR_SUM] = this.sum.bytes();
    if (this.counter.numSamples > 0) subs[AGGR_COUNTER] = this.counter.bytes();
    return {
      mint: this.mint,
      maxt: this.maxt,
      encoding: ENC_THANOS_AGGR,
      data: encodeAggrChunk(subs as AggrSubChunks, HIST_AGGR_ENCODINGS),
      numSamples: this.count.numSamples,
    };
  }
}

/** Downsamples raw histogram series; reuse one instance across series. */
export class HistRawDownsampler {
  private readonly b = new HistAggrChunkBuilder();
  private readonly batch = new HistSeries();

  /** Appends the aggregated chunks of `s` at resolution `r` to `out`; returns the windows written. */
  downsample(s: HistSeries, r: number, out: EncodedChunk[], numChunks?: number): number {
    const ts = s.ts;
    return rawBatches(ts, s.len, r, numChunks, (from, to) => {
      const batch = this.batch;
      batch.reset();
      for (let i = from; i < to; i++) if (!Number.isNaN(s.hs[i]!.sum)) batch.push(ts[i]!, s.hs[i]!);
      return batch.len === 0 ? 0 : this.one(batch, r, out);
    });
  }

  private one(batch: HistSeries, r: number, out: EncodedChunk[]): number {
    const b = this.b;
    const gauge = batch.hs[0]!.counterResetHint === HINT_GAUGE;
    b.reset(gauge);
    histWindows(batch, 0, batch.len, r, (t, a) => {
      b.see(t);
      if (gauge) {
        a.counter!.counterResetHint = HINT_GAUGE;
        a.sum!.counterResetHint = HINT_GAUGE;
      }
      b.counter.append(t, a.counter!);
      b.sum.append(t, a.sum!);
      b.count.append(t, a.count);
    });
    out.push(b.encode());
    return b.count.numSamples;
  }
}
