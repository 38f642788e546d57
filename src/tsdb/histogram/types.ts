/**
 * Native histogram samples, the shape of Prometheus' model/histogram: an integer Histogram (counts
 * as integers, bucket counts delta-encoded bucket to bucket) and a FloatHistogram (absolute float
 * counts). Bucket arrays are Float64Arrays so decoders can reuse them and NaN payloads (the stale
 * marker in `sum`) survive; keep `sum` out of plain JS arrays, which may rewrite NaN bits.
 */

/** Counter-reset hint of a sample (Prometheus' histogram.CounterResetHint values). */
export const HINT_UNKNOWN = 0;
export const HINT_COUNTER_RESET = 1;
export const HINT_NOT_COUNTER_RESET = 2;
export const HINT_GAUGE = 3;
export type CounterResetHint = 0 | 1 | 2 | 3;

/** Exponential bucket schemas Prometheus 2.x accepts (-53, custom buckets, came with 3.x). */
export const MIN_SCHEMA = -4;
export const MAX_SCHEMA = 8;

/** `length` consecutive buckets, starting `offset` buckets after the previous span ends. */
export interface Span {
  offset: number;
  length: number;
}

interface HistogramFields {
  counterResetHint: CounterResetHint;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positiveSpans: Span[];
  negativeSpans: Span[];
  positiveBuckets: Float64Array;
  negativeBuckets: Float64Array;
}

/** Integer histogram: counts are integers within 0..2^53−1; buckets hold deltas (first: absolute). */
export interface Histogram extends HistogramFields {
  readonly kind: 'histogram';
}

/** Float histogram: buckets hold absolute counts. */
export interface FloatHistogram extends HistogramFields {
  readonly kind: 'floathistogram';
}

export type AnyHistogram = Histogram | FloatHistogram;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = (() => {
  f64[0] = 1;
  return u32[1] === 0x3ff00000 ? 1 : 0;
})();

/** True if `v` is Prometheus' stale marker NaN (0x7ff0000000000002). */
export function isStaleNaN(v: number): boolean {
  f64[0] = v;
  return u32[HI] === 0x7ff00000 && u32[1 - HI] === 2;
}

/** The stale marker as a number (keep it in typed arrays or object fields to keep its bits). */
export const STALE_NAN: number = (() => {
  u32[HI] = 0x7ff00000;
  u32[1 - HI] = 2;
  return f64[0]!;
})();

/** Number of buckets the spans describe. */
export function spanBuckets(spans: readonly Span[]): number {
  let n = 0;
  for (const s of spans) n += s.length;
  return n;
}

export function newHistogram(): Histogram {
  return {
    kind: 'histogram',
    counterResetHint: HINT_UNKNOWN,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: new Float64Array(0),
    negativeBuckets: new Float64Array(0),
  };
}

export function newFloatHistogram(): FloatHistogram {
  return { ...newHistogram(), kind: 'floathistogram' };
}

function copySpans(s: readonly Span[]): Span[] {
  return s.map((x) => ({ offset: x.offset, length: x.length }));
}

/** A deep copy (spans and buckets are new arrays). */
export function cloneHistogram<H extends AnyHistogram>(h: H): H {
  // Field by field: an object spread is several times slower on this hot path (downsampling).
  const c: AnyHistogram = {
    kind: h.kind,
    counterResetHint: h.counterResetHint,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    count: h.count,
    sum: h.sum,
    positiveSpans: copySpans(h.positiveSpans),
    negativeSpans: copySpans(h.negativeSpans),
    positiveBuckets: h.positiveBuckets.slice(),
    negativeBuckets: h.negativeBuckets.slice(),
  };
  return c as H;
}

/** The float form of an integer histogram (buckets turned absolute), as Prometheus' ToFloat. */
export function toFloatHistogram(h: Histogram): FloatHistogram {
  const abs = (d: Float64Array): Float64Array => {
    const out = new Float64Array(d.length);
    let c = 0;
    for (let i = 0; i < d.length; i++) out[i] = c += d[i]!;
    return out;
  };
  return {
    ...h,
    kind: 'floathistogram',
    positiveSpans: copySpans(h.positiveSpans),
    negativeSpans: copySpans(h.negativeSpans),
    positiveBuckets: abs(h.positiveBuckets),
    negativeBuckets: abs(h.negativeBuckets),
  };
}
