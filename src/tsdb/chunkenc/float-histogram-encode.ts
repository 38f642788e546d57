/**
 * Float histogram chunk appender (encoding 3), byte-compatible with Prometheus'
 * FloatHistogramChunk (layout as for encoding 2; then raw float64s for the first sample and XOR
 * against the previous value, per field and per bucket, after it).
 */
import { InvalidArgumentError } from '../../util/errors.js';
import { isStaleNaN, spanBuckets, type FloatHistogram, type Span } from '../histogram/types.js';
import { floatHi, lastLo, bitsToFloat } from './float-bits.js';
import { HistAppenderBase } from './hist-append.js';
import { putVarbitInt } from './hist-bits.js';
import { writeLayout } from './hist-meta.js';
import { applyInserts, type Insert } from './hist-spans.js';
import { NO_WINDOW, XorCells, xorWrite } from './hist-xor.js';
import { ENC_FLOAT_HISTOGRAM } from './encoding.js';
import { FloatHistogramChunkIterator } from './float-histogram-decode.js';

const C_COUNT = 0;
const C_ZERO = 1;
const C_SUM = 2;
const C_BUCKETS = 3;

export class FloatHistogramAppender extends HistAppenderBase<FloatHistogram> {
  readonly encoding = ENC_FLOAT_HISTOGRAM;
  private readonly cells = new XorCells(16);
  private nb = 0;
  private it: FloatHistogramChunkIterator | null = null;

  protected resetValues(): void {
    this.cells.clear(0, C_BUCKETS, NO_WINDOW);
    this.nb = 0;
    this.positiveSpans = [];
    this.negativeSpans = [];
    this.schema = 0;
    this.zeroThreshold = 0;
  }

  protected writeFirst(t: number, h: FloatHistogram, stale: boolean): void {
    const w = this.w;
    const pS = stale ? [] : h.positiveSpans;
    const nS = stale ? [] : h.negativeSpans;
    const p = spanBuckets(pS);
    const q = spanBuckets(nS);
    if (!stale && (h.positiveBuckets.length !== p || h.negativeBuckets.length !== q)) {
      throw new InvalidArgumentError(
        `float histogram has ${h.positiveBuckets.length}+${h.negativeBuckets.length} buckets, its spans ${p}+${q}`,
      );
    }
    const schema = stale ? 0 : h.schema;
    const zt = stale ? 0 : h.zeroThreshold;
    writeLayout(w, schema, zt, pS, nS);
    this.schema = schema;
    this.zeroThreshold = zt;
    this.positiveSpans = pS.map((s) => ({ offset: s.offset, length: s.length }));
    this.negativeSpans = nS.map((s) => ({ offset: s.offset, length: s.length }));
    this.nb = p + q;
    const c = this.cells;
    c.ensure(C_BUCKETS + p + q);
    c.clear(0, C_BUCKETS + p + q, NO_WINDOW);
    putVarbitInt(w, t);
    this.raw(C_COUNT, stale ? 0 : h.count);
    this.raw(C_ZERO, stale ? 0 : h.zeroCount);
    this.raw(C_SUM, h.sum);
    for (let i = 0; i < p; i++) this.raw(C_BUCKETS + i, h.positiveBuckets[i]!);
    for (let i = 0; i < q; i++) this.raw(C_BUCKETS + p + i, h.negativeBuckets[i]!);
  }

  private raw(i: number, v: number): void {
    const hi = floatHi(v);
    const lo = lastLo();
    this.w.write64(hi, lo, 64);
    this.cells.hi[i] = hi;
    this.cells.lo[i] = lo;
  }

  protected writeNext(_t: number, tDod: number, h: FloatHistogram, stale: boolean): void {
    const w = this.w;
    const c = this.cells;
    putVarbitInt(w, tDod);
    xorWrite(w, c, C_COUNT, floatHi(stale ? 0 : h.count), lastLo());
    xorWrite(w, c, C_ZERO, floatHi(stale ? 0 : h.zeroCount), lastLo());
    xorWrite(w, c, C_SUM, floatHi(h.sum), lastLo());
    if (stale) return;
    const p = h.positiveBuckets.length;
    for (let i = 0; i < p; i++) xorWrite(w, c, C_BUCKETS + i, floatHi(h.positiveBuckets[i]!), lastLo());
    for (let i = 0; i < h.negativeBuckets.length; i++) {
      xorWrite(w, c, C_BUCKETS + p + i, floatHi(h.negativeBuckets[i]!), lastLo());
    }
  }

  private value(i: number): number {
    return bitsToFloat(this.cells.hi[i]!, this.cells.lo[i]!);
  }

  protected lastCount(): number {
    return this.value(C_COUNT);
  }

  protected lastZeroCount(): number {
    return this.value(C_ZERO);
  }

  protected lastSumStale(): boolean {
    return this.cells.hi[C_SUM] === 0x7ff00000 && this.cells.lo[C_SUM] === 2;
  }

  protected lastAbsolute(): { positive: Float64Array; negative: Float64Array } {
    const p = spanBuckets(this.positiveSpans);
    const all = new Float64Array(this.nb);
    for (let i = 0; i < this.nb; i++) all[i] = this.value(C_BUCKETS + i);
    return { positive: all.subarray(0, p), negative: all.subarray(p) };
  }

  protected absolute(h: FloatHistogram): { positive: Float64Array; negative: Float64Array } {
    return { positive: h.positiveBuckets, negative: h.negativeBuckets };
  }

  protected sameLayoutDropped(h: FloatHistogram): boolean {
    const p = h.positiveBuckets.length;
    for (let i = 0; i < p; i++) if (h.positiveBuckets[i]! < this.value(C_BUCKETS + i)) return true;
    for (let i = 0; i < h.negativeBuckets.length; i++) {
      if (h.negativeBuckets[i]! < this.value(C_BUCKETS + p + i)) return true;
    }
    return false;
  }

  recode(positive: readonly Insert[], negative: readonly Insert[], pSpans: Span[], nSpans: Span[]): void {
    const old = this.bytes().slice();
    const header = this.header;
    const it = (this.it ??= new FloatHistogramChunkIterator());
    it.reset(old);
    this.reset(header);
    while (it.next()) {
      const h = it.at();
      if (!isStaleNaN(h.sum)) this.expandSample(h, positive, negative, pSpans, nSpans);
      this.appendRaw(it.t, h);
    }
  }

  expandSample(
    h: FloatHistogram,
    positive: readonly Insert[],
    negative: readonly Insert[],
    pSpans: Span[],
    nSpans: Span[],
  ): void {
    if (positive.length > 0) {
      const out = new Float64Array(spanBuckets(pSpans));
      applyInserts(h.positiveBuckets, out, positive, false);
      h.positiveBuckets = out;
    }
    if (negative.length > 0) {
      const out = new Float64Array(spanBuckets(nSpans));
      applyInserts(h.negativeBuckets, out, negative, false);
      h.negativeBuckets = out;
    }
    h.positiveSpans = pSpans;
    h.negativeSpans = nSpans;
  }
}
