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
 * - FloatHistSubChunk: one float-histogram sub-chunk taking values whose layout changes (recoded
 *   as Prometheus' appender does); a value it cannot take (zero threshold or schema changing
 *   within a batch) is refused with ERR_DOWNSAMPLE_UNSUPPORTED instead of silently dropping the
 *   chunk's earlier values as Thanos' appendFloatHistogram does.
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
import { addHistograms, copyToSchema, detectReset, subHistograms } from '../histogram/ops.js';
import {
  HINT_COUNTER_RESET,
  HINT_GAUGE,
  HINT_UNKNOWN,
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
    let lastT = 0;
    let n = 0;
    if (enc === ENC_FLOAT_HISTOGRAM) {
      const it = this.floatIt;
      it.reset(data, file, off);
      while (it.next()) {
        n++;
        const h = it.at();
        if (isStaleNaN(h.sum) || it.t < lastT) continue;
        lastT = it.t;
        this.push(it.t, cloneHistogram(h));
      }
      return n;
    }
    const it = this.intIt;
    it.reset(data, file, off);
    while (it.next()) {
      n++;
      const h = it.at();
      if (isStaleNaN(h.sum) || it.t < lastT) continue;
      lastT = it.t;
      this.push(it.t, toFloatHistogram(h));
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
      this.counter = addHistograms(this.counter!, reset ? h : subHistograms(h, this.previous!));
    } else {
      this.counter = cloneHistogram(h);
    }
    this.sum = this.sum === undefined ? cloneHistogram(h) : addHistograms(this.sum, h);
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

/** One float-histogram sub-chunk of an aggregated chunk; `gauge` picks Prometheus' gauge rules. */
export class FloatHistSubChunk {
  private readonly app = new FloatHistogramAppender();
  private gauge = false;

  reset(gauge: boolean): void {
    this.gauge = gauge;
    this.app.reset(gauge ? HEADER_GAUGE : HEADER_UNKNOWN);
  }

  get numSamples(): number {
    return this.app.numSamples;
  }

  /** The chunk bytes (a copy). */
  bytes(): Uint8Array {
    return this.app.bytes().slice();
  }

  append(t: number, h: FloatHistogram): void {
    const app = this.app;
    if (app.numSamples === 0) {
      app.appendRaw(t, h);
      return;
    }
    if (!this.gauge) {
      // The running total never restarts within the chunk: a reset hint copied from a raw
      // sample means nothing here.
      if (h.counterResetHint === HINT_COUNTER_RESET) h = { ...h, counterResetHint: HINT_UNKNOWN };
      const c = app.appendable(h);
      if (!c.ok || c.counterReset) throw this.refuse(t, h, c.counterReset ? 'went down' : 'changed layout');
      if (c.positiveInserts.length > 0 || c.negativeInserts.length > 0) {
        app.recode(c.positiveInserts, c.negativeInserts, h.positiveSpans, h.negativeSpans);
      }
      app.appendRaw(t, h);
      return;
    }
    const g = app.appendableGauge(h);
    if (!g.ok) throw this.refuse(t, h, 'changed layout');
    let s = h;
    if (g.backwardPositive.length + g.backwardNegative.length > 0) {
      s = cloneHistogram(h);
      app.expandSample(
        s,
        g.backwardPositive,
        g.backwardNegative,
        g.mergedPositiveSpans,
        g.mergedNegativeSpans,
      );
    }
    if (g.positiveInserts.length > 0 || g.negativeInserts.length > 0) {
      app.recode(g.positiveInserts, g.negativeInserts, s.positiveSpans, s.negativeSpans);
    }
    app.appendRaw(t, s);
  }

  private refuse(t: number, h: FloatHistogram, what: string): StrataError {
    return new StrataError(
      'ERR_DOWNSAMPLE_UNSUPPORTED',
      `histogram aggregate at ${t} (schema ${h.schema}, zero threshold ${h.zeroThreshold}) ${what} within one output chunk (schema ${this.app.schema}, zero threshold ${this.app.zeroThreshold}): not representable in one float histogram chunk`,
    );
  }
}
