/**
 * Integer histogram chunk appender (encoding 2), byte-compatible with Prometheus' HistogramChunk.
 * After the 3 header bytes and the layout, the first sample stores t (varbit int), count and
 * zero count (varbit uint), sum (64 raw bits) and each bucket (varbit int, the delta-encoded
 * counts as in the model); later samples store delta-of-deltas of t, count, zero count and
 * every bucket value, and the sum XORed against the previous sum.
 */
import { InvalidArgumentError } from '../../util/errors.js';
import { isStaleNaN, spanBuckets, type Histogram, type Span } from '../histogram/types.js';
import { floatHi, lastLo } from './float-bits.js';
import { HistAppenderBase } from './hist-append.js';
import { putVarbitInt, putVarbitUint } from './hist-bits.js';
import { writeLayout } from './hist-meta.js';
import { applyInserts, type Insert } from './hist-spans.js';
import { NO_WINDOW, XorCells, xorWrite } from './hist-xor.js';
import { ENC_HISTOGRAM } from './encoding.js';
import { HistogramChunkIterator } from './histogram-decode.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class HistogramAppender extends HistAppenderBase<Histogram> {
  readonly encoding = ENC_HISTOGRAM;
  private cnt = 0;
  private zCnt = 0;
  private cntDelta = 0;
  private zCntDelta = 0;
  private readonly sum = new XorCells(1);
  /** Per bucket (positive then negative): last value (model delta) and its change. */
  private vals = new Float64Array(0);
  private deltas = new Float64Array(0);
  private it: HistogramChunkIterator | null = null;

  protected resetValues(): void {
    this.cnt = this.zCnt = this.cntDelta = this.zCntDelta = 0;
    this.sum.clear(0, 1, NO_WINDOW);
    this.positiveSpans = [];
    this.negativeSpans = [];
    this.schema = 0;
    this.zeroThreshold = 0;
  }

  protected writeFirst(t: number, h: Histogram, stale: boolean): void {
    const w = this.w;
    const pS = stale ? [] : h.positiveSpans;
    const nS = stale ? [] : h.negativeSpans;
    const schema = stale ? 0 : h.schema;
    const zt = stale ? 0 : h.zeroThreshold;
    const count = stale ? 0 : h.count;
    const zc = stale ? 0 : h.zeroCount;
    checkCount(count, 'count');
    checkCount(zc, 'zero count');
    const p = spanBuckets(pS);
    const q = spanBuckets(nS);
    if (!stale && (h.positiveBuckets.length !== p || h.negativeBuckets.length !== q)) {
      throw new InvalidArgumentError(
        `histogram has ${h.positiveBuckets.length}+${h.negativeBuckets.length} buckets, its spans ${p}+${q}`,
      );
    }
    writeLayout(w, schema, zt, pS, nS);
    this.schema = schema;
    this.zeroThreshold = zt;
    this.positiveSpans = pS.map((s) => ({ offset: s.offset, length: s.length }));
    this.negativeSpans = nS.map((s) => ({ offset: s.offset, length: s.length }));
    if (this.vals.length !== p + q) {
      this.vals = new Float64Array(p + q);
      this.deltas = new Float64Array(p + q);
    } else {
      this.deltas.fill(0);
    }
    putVarbitInt(w, t);
    putVarbitUint(w, count);
    putVarbitUint(w, zc);
    const sh = floatHi(h.sum);
    const sl = lastLo();
    w.write64(sh, sl, 64);
    this.sum.hi[0] = sh;
    this.sum.lo[0] = sl;
    for (let i = 0; i < p + q; i++) {
      const v = stale ? 0 : i < p ? h.positiveBuckets[i]! : h.negativeBuckets[i - p]!;
      checkInt(v, 'bucket');
      putVarbitInt(w, v);
      this.vals[i] = v;
    }
    this.cnt = count;
    this.zCnt = zc;
    this.cntDelta = this.zCntDelta = 0;
  }

  protected writeNext(_t: number, tDod: number, h: Histogram, stale: boolean): void {
    const w = this.w;
    const count = stale ? 0 : h.count;
    const zc = stale ? 0 : h.zeroCount;
    checkCount(count, 'count');
    checkCount(zc, 'zero count');
    const cntDelta = count - this.cnt;
    const zDelta = zc - this.zCnt;
    putVarbitInt(w, tDod);
    // A stale sample writes zero dods but still moves the appender's state (as Prometheus does).
    putVarbitInt(w, stale ? 0 : cntDelta - this.cntDelta);
    putVarbitInt(w, stale ? 0 : zDelta - this.zCntDelta);
    xorWrite(w, this.sum, 0, floatHi(h.sum), lastLo());
    if (!stale) {
      const p = h.positiveBuckets.length;
      const vals = this.vals;
      const deltas = this.deltas;
      const total = p + h.negativeBuckets.length;
      for (let i = 0; i < total; i++) {
        const v = i < p ? h.positiveBuckets[i]! : h.negativeBuckets[i - p]!;
        const d = v - vals[i]!;
        const dod = d - deltas[i]!;
        if (!(Number.isSafeInteger(v) && Math.abs(dod) <= MAX_SAFE)) checkInt(v, 'bucket');
        putVarbitInt(w, dod);
        deltas[i] = d;
        vals[i] = v;
      }
    }
    this.cnt = count;
    this.zCnt = zc;
    this.cntDelta = cntDelta;
    this.zCntDelta = zDelta;
  }

  protected lastCount(): number {
    return this.cnt;
  }

  protected lastZeroCount(): number {
    return this.zCnt;
  }

  protected lastSumStale(): boolean {
    return this.sum.hi[0] === 0x7ff00000 && this.sum.lo[0] === 2;
  }

  protected lastAbsolute(): { positive: Float64Array; negative: Float64Array } {
    const p = spanBuckets(this.positiveSpans);
    return cumulate(this.vals.subarray(0, p), this.vals.subarray(p));
  }

  protected absolute(h: Histogram): { positive: Float64Array; negative: Float64Array } {
    return cumulate(h.positiveBuckets, h.negativeBuckets);
  }

  protected sameLayoutDropped(h: Histogram): boolean {
    const vals = this.vals;
    const p = h.positiveBuckets.length;
    let a = 0;
    let b = 0;
    for (let i = 0; i < p; i++) {
      a += vals[i]!;
      b += h.positiveBuckets[i]!;
      if (b < a) return true;
    }
    a = b = 0;
    for (let i = 0; i < h.negativeBuckets.length; i++) {
      a += vals[p + i]!;
      b += h.negativeBuckets[i]!;
      if (b < a) return true;
    }
    return false;
  }

  recode(positive: readonly Insert[], negative: readonly Insert[], pSpans: Span[], nSpans: Span[]): void {
    const old = this.bytes().slice();
    const header = this.header;
    const it = (this.it ??= new HistogramChunkIterator());
    it.reset(old);
    this.reset(header);
    while (it.next()) {
      const h = it.at();
      if (!isStaleNaN(h.sum)) this.expandSample(h, positive, negative, pSpans, nSpans);
      this.appendRaw(it.t, h);
    }
  }

  expandSample(
    h: Histogram,
    positive: readonly Insert[],
    negative: readonly Insert[],
    pSpans: Span[],
    nSpans: Span[],
  ): void {
    if (positive.length > 0) {
      const out = new Float64Array(spanBuckets(pSpans));
      applyInserts(h.positiveBuckets, out, positive, true);
      h.positiveBuckets = out;
    }
    if (negative.length > 0) {
      const out = new Float64Array(spanBuckets(nSpans));
      applyInserts(h.negativeBuckets, out, negative, true);
      h.negativeBuckets = out;
    }
    h.positiveSpans = pSpans;
    h.negativeSpans = nSpans;
  }
}

function cumulate(p: Float64Array, n: Float64Array): { positive: Float64Array; negative: Float64Array } {
  const a = new Float64Array(p.length);
  const b = new Float64Array(n.length);
  let c = 0;
  for (let i = 0; i < p.length; i++) a[i] = c += p[i]!;
  c = 0;
  for (let i = 0; i < n.length; i++) b[i] = c += n[i]!;
  return { positive: a, negative: b };
}

function checkCount(v: number, what: string): void {
  if (!(Number.isSafeInteger(v) && v >= 0))
    throw new InvalidArgumentError(`histogram ${what} ${v} is not an integer within 0..2^53−1`);
}

function checkInt(v: number, what: string): void {
  if (!Number.isSafeInteger(v))
    throw new InvalidArgumentError(`histogram ${what} ${v} is not an integer within ±(2^53−1)`);
}
