/**
 * The text form of native histogram samples, as Prometheus' model/histogram `Histogram.String()`
 * and `FloatHistogram.String()` (unchanged from v2.40 to v3.x for exponential schemas), which
 * `promtool tsdb dump` prints since v2.48:
 *
 *   {count:C, sum:S, <negative buckets, highest index first>, [-zt,zt]:Z, <positive buckets>}
 *
 * Only non-empty buckets appear; the zero bucket only when its count is not 0. A bucket prints as
 * `(lower,upper]:count` (positive) or `[lower,upper):count` (negative) with bounds as Go's `%g`;
 * an integer histogram's counts are decimal integers (Go's `%d` / `%v` of uint64), a float
 * histogram's counts `%g`. Bucket bounds come from getBound (generic.go), with the precomputed
 * exponential table of bounds-table.ts.
 */
import { formatGoFloat } from '../goformat.js';
import { EXPONENTIAL_BOUNDS } from './bounds-table.js';
import type { AnyHistogram, Span } from './types.js';

/** 2^exp × frac with one rounding (Go's math.Ldexp), also where 2^exp alone is out of range. */
function ldexp(frac: number, exp: number): number {
  if (exp > 1023) return frac * 2 ** 1023 * 2 ** (exp - 1023);
  if (exp < -1022) {
    if (exp < -1200) return 0;
    return frac * 2 ** (exp + 1074) * 2 ** -1074;
  }
  return frac * 2 ** exp;
}

/** Upper bound of bucket `idx` in exponential `schema` (Prometheus' getBound / getBoundExponential). */
export function bucketBound(idx: number, schema: number): number {
  if (schema < 0) {
    const exp = idx * 2 ** -schema;
    // The last bucket before the ±Inf bucket ends at MaxFloat64, not +Inf.
    if (exp === 1024) return Number.MAX_VALUE;
    return ldexp(1, exp);
  }
  const per = 1 << schema;
  const fracIdx = ((idx % per) + per) % per;
  const frac = EXPONENTIAL_BOUNDS[schema]![fracIdx]!;
  const exp = Math.floor(idx / per) + 1;
  if (frac === 0.5 && exp === 1025) return Number.MAX_VALUE;
  return ldexp(frac, exp);
}

/** An integer count as Go prints a uint64 (a negative value wraps, as in Go). */
function formatUint(v: number): string {
  if (v >= 0 && Number.isSafeInteger(v)) return String(v);
  if (Number.isInteger(v)) return BigInt.asUintN(64, BigInt(v)).toString();
  return formatGoFloat(v);
}

interface BucketText {
  idx: number;
  count: number;
}

/** Non-empty buckets in index order with absolute counts (integer histograms hold deltas). */
function nonEmpty(
  spans: readonly Span[],
  buckets: Float64Array,
  deltas: boolean,
  schema: number,
): BucketText[] {
  const out: BucketText[] = [];
  let idx = 0;
  let k = 0;
  let abs = 0;
  for (let s = 0; s < spans.length; s++) {
    const span = spans[s]!;
    idx += span.offset;
    for (let j = 0; j < span.length; j++, k++, idx++) {
      if (k >= buckets.length) return out;
      abs = deltas ? abs + buckets[k]! : buckets[k]!;
      // FloatHistogram's iterator skips buckets whose upper bound underflows to 0
      // (absoluteStartValue); the integer one does not.
      if (abs !== 0 && (deltas || bucketBound(idx, schema) > 0)) out.push({ idx, count: abs });
    }
  }
  return out;
}

function interval(lower: number, upper: number): string {
  return (
    (lower < 0 ? '[' : '(') + formatGoFloat(lower) + ',' + formatGoFloat(upper) + (upper > 0 ? ']' : ')')
  );
}

/** `h.String()` of Prometheus' Histogram (kind 'histogram') or FloatHistogram. */
export function formatHistogram(h: AnyHistogram): string {
  const int = h.kind === 'histogram';
  const count = int ? formatUint : formatGoFloat;
  let s = '{count:' + count(h.count) + ', sum:' + formatGoFloat(h.sum);
  const neg = nonEmpty(h.negativeSpans, h.negativeBuckets, int, h.schema);
  for (let i = neg.length - 1; i >= 0; i--) {
    const b = neg[i]!;
    s +=
      ', ' +
      interval(-bucketBound(b.idx, h.schema), -bucketBound(b.idx - 1, h.schema)) +
      ':' +
      count(b.count);
  }
  if (h.zeroCount !== 0) {
    // The zero bucket is closed on both sides whatever its threshold (ZeroBucket()).
    s +=
      ', [' +
      formatGoFloat(-h.zeroThreshold) +
      ',' +
      formatGoFloat(h.zeroThreshold) +
      ']:' +
      count(h.zeroCount);
  }
  for (const b of nonEmpty(h.positiveSpans, h.positiveBuckets, int, h.schema)) {
    s +=
      ', ' + interval(bucketBound(b.idx - 1, h.schema), bucketBound(b.idx, h.schema)) + ':' + count(b.count);
  }
  return s + '}';
}
