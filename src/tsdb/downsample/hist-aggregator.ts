/**
 * The pieces of Thanos' native histogram downsampling (pkg/compact/downsample/downsample.go:
 * histogramAggregator, newHistogramAggrChunkBuilder, downsampleBatch) shared by the raw (hist-raw.ts)
 * and aggregated (hist-aggr.ts) paths:
 *
 * - HistSeries: one series' histogram samples as float histograms, expanded from chunks like
 *   Thanos' expand*ChunkIterator (stale markers dropped, samples going back in time within a chunk
 *   dropped, from 0);
 * - HistAggregator: per window the count of samples, the sum of the window's histograms (a gauge)
 *   and the counter (running total from the batch's first sample: a counter reset adds the new
 *   histogram, otherwise the delta to the previous one is added), all at the batch's smallest
 *   schema so every value fits one float-histogram chunk;
 * - FloatHistSubChunk: one float-histogram sub-chunk holding a batch's window values whatever
 *   their zero thresholds and layouts (one common threshold and layout for the chunk).
 *
 * One deliberate difference from Thanos: reset detection compares a sample with the previous
 * sample as read (Prometheus' DetectReset on the raw series), not with the previous sample reduced
 * to the batch schema, which would make every first-of-chunk sample above the batch's smallest
 * schema look like a reset and double-count it.
 */
import { FloatHistogramAppender } from '../chunkenc/float-histogram-encode.js';
import { FloatHistogramChunkIterator } from '../chunkenc/float-histogram-decode.js';
import { HistogramChunkIterator } from '../chunkenc/histogram-decode.js';
import { HEADER_GAUGE, HEADER_UNKNOWN } from '../chunkenc/hist-meta.js';
import { ENC_FLOAT_HISTOGRAM } from '../chunkenc/encoding.js';
import {
  addDifferenceInPlace,
  addHistograms,
  addInPlace,
  copyToSchema,
  detectReset,
  subHistograms,
} from '../histogram/ops.js';
import { commonZeroThreshold, unionIndexes, withLayout, withZeroThreshold } from '../histogram/layout.js';
import {
  HINT_GAUGE,
  cloneHistogram,
  isStaleNaN,
  toFloatHistogram,
  type FloatHistogram,
} from '../histogram/types.js';
import { StrataError } from '../../util/errors.js';

/** One series' histogram samples (time order), reused across series. */
export class HistSeries {
  readonly ts: number[] = [];
  readonly hs: FloatHistogram[] = [];
  private readonly intIt = new HistogramChunkIterator();
  private readonly floatIt = new FloatHistogramChunkIterator();

  get len(): number {
    return this.ts.length;
  }

  reset(): void {
    this.ts.length = 0;
    this.hs.length = 0;
  }

  push(t: number, h: FloatHistogram): void {
    this.ts.push(t);
    this.hs.push(h);
  }

  /**
   * Appends the samples of a histogram chunk (encoding 2 or 3) as float histograms: stale markers
   * dropped, samples older than the last one kept from this chunk dropped. Returns the number of
   * samples decoded.
   */
  appendChunk(enc: number, data: Uint8Array, file: string, off: number): number {
    if (enc === ENC_FLOAT_HISTOGRAM) {
      this.floatIt.reset(data, file, off);
      return this.appendFrom(this.floatIt, cloneHistogram);
    }
    this.intIt.reset(data, file, off);
    return this.appendFrom(this.intIt, toFloatHistogram);
  }

  /** The samples of `it` as float histograms (`toFloat` copies: the iterator reuses its own). */
  private appendFrom<H extends { readonly sum: number }>(
    it: { next(): boolean; at(): H; readonly t: number },
    toFloat: (h: H) => FloatHistogram,
  ): number {
    let lastT = 0;
    let n = 0;
    while (it.next()) {
      n++;
      const h = it.at();
      if (isStaleNaN(h.sum) || it.t < lastT) continue;
      lastT = it.t;
      this.push(it.t, toFloat(h));
    }
    return n;
  }
}

/** Smallest schema of samples [from, to) (Thanos' minSchema). */
export function minSchema(hs: readonly FloatHistogram[], from: number, to: number): number {
  let s = Infinity;
  for (let i = from; i < to; i++) if (hs[i]!.schema < s) s = hs[i]!.schema;
  return s;
}

/** Per-window count, sum and running counter over one batch (Thanos' histogramAggregator). */
export class HistAggregator {
  total = 0;
  count = 0;
  sum: FloatHistogram | undefined;
  counter: FloatHistogram | undefined;
  private previous: FloatHistogram | undefined;
  private previousRead: FloatHistogram | undefined;

  constructor(private readonly schema: number) {}

  /** Starts a new window. */
  reset(): void {
    this.count = 0;
    this.sum = undefined;
  }

  add(read: FloatHistogram): void {
    const h = read.schema > this.schema ? copyToSchema(read, this.schema) : read;
    if (this.total > 0) {
      // Thanos checks the (possibly reduced) sample's hint: a reduced copy's hint is unknown.
      const reset = h.counterResetHint !== HINT_GAUGE && detectReset(read, this.previousRead!);
      // In place where the layouts agree (no allocation per sample); the counter and the sum are
      // this aggregator's own objects, copied when a window is emitted.
      const c = this.counter!;
      if (reset) {
        if (!addInPlace(c, h)) this.counter = addHistograms(c, h);
      } else if (!addDifferenceInPlace(c, h, this.previous!)) {
        this.counter = addHistograms(c, subHistograms(h, this.previous!));
      }
    } else {
      this.counter = cloneHistogram(h);
    }
    if (this.sum === undefined) this.sum = cloneHistogram(h);
    else if (!addInPlace(this.sum, h)) this.sum = addHistograms(this.sum, h);
    this.sum.counterResetHint = HINT_GAUGE;
    this.previous = h;
    this.previousRead = read;
    this.count++;
    this.total++;
  }
}

/**
 * Cuts samples [from, to) into windows of `r` (end t − t mod r + r − 1, capped at the last
 * sample's timestamp) and calls `emit(windowEnd, aggregator)` once per window (Thanos'
 * downsampleBatch). Returns the last window's end.
 */
export function histWindows(
  s: HistSeries,
  from: number,
  to: number,
  r: number,
  emit: (t: number, a: HistAggregator) => void,
): number {
  const a = new HistAggregator(minSchema(s.hs, from, to));
  const lastT = s.ts[to - 1]!;
  let nextT = -1;
  for (let i = from; i < to; i++) {
    const t = s.ts[i]!;
    if (t > nextT) {
      if (nextT !== -1) emit(nextT, a);
      a.reset();
      nextT = t - (t % r) + r - 1;
      if (nextT > lastT) nextT = lastT;
    }
    a.add(s.hs[i]!);
  }
  if (a.total > 0) emit(nextT, a);
  return nextT;
}

/**
 * One float-histogram sub-chunk of an aggregated chunk, written once its batch's values are all
 * known: they are brought to one zero threshold (the smallest that fits all, as Add reconciles
 * them) and one bucket layout (the union, missing buckets as explicit zeros), so every value fits
 * the chunk whatever the raw series' zero threshold and layout did within the batch (Prometheus'
 * appender would need a new chunk there, which Thanos' appendFloatHistogram drops silently).
 * All values share the batch's schema (the aggregator reduces them).
 */
export class FloatHistSubChunk {
  private readonly app = new FloatHistogramAppender();
  private gauge = false;
  private readonly ts: number[] = [];
  private readonly hs: FloatHistogram[] = [];

  reset(gauge: boolean): void {
    this.gauge = gauge;
    this.ts.length = 0;
    this.hs.length = 0;
  }

  get numSamples(): number {
    return this.ts.length;
  }

  /** Keeps a copy of `h` (the aggregator goes on changing its own objects). */
  append(t: number, h: FloatHistogram): void {
    this.ts.push(t);
    this.hs.push(cloneHistogram(h));
  }

  /** The chunk bytes (a copy). */
  bytes(): Uint8Array {
    const hs = this.hs;
    const zt = commonZeroThreshold(hs);
    const widened = hs.map((h) => withZeroThreshold(h, zt));
    const pos = unionIndexes(widened, true);
    const neg = unionIndexes(widened, false);
    const app = this.app;
    app.reset(this.gauge ? HEADER_GAUGE : HEADER_UNKNOWN);
    for (let i = 0; i < widened.length; i++) {
      const h = widened[i]!;
      if (h.schema !== widened[0]!.schema) {
        throw new StrataError(
          'ERR_DOWNSAMPLE_UNSUPPORTED',
          `histogram aggregate at ${this.ts[i]} has schema ${h.schema}, the chunk's first ${widened[0]!.schema}`,
        );
      }
      app.appendRaw(this.ts[i]!, withLayout(h, pos, neg));
    }
    return app.bytes().slice();
  }
}
