/**
 * FloatHistogram arithmetic with the semantics of Prometheus' model/histogram/float_histogram.go
 * for exponential schemas (custom-bucket schemas are not supported, as in Thanos' downsampling):
 * Add, Sub (zero thresholds reconciled, the coarser schema wins), CopyToSchema (resolution
 * reduced: bucket i of schema s goes to ((i − 1) >> (s − t)) + 1 of schema t), DetectReset and
 * Compact. Results are new objects; inputs are never modified. Bucket layouts come out as one
 * span per run of consecutive indexes (the same buckets as Prometheus', possibly split into
 * spans differently: Compact normalises).
 */
import { bucketBound } from './format.js';
import {
  HINT_COUNTER_RESET,
  HINT_GAUGE,
  HINT_NOT_COUNTER_RESET,
  HINT_UNKNOWN,
  cloneHistogram,
  type CounterResetHint,
  type FloatHistogram,
  type Span,
} from './types.js';
import { expand, reduce, withBuckets, zeroCountFor, type Buckets } from './buckets.js';

/** A copy at schema `target` ≤ h.schema; like Prometheus, a reduced copy has an unknown hint. */
export function copyToSchema(h: FloatHistogram, target: number): FloatHistogram {
  if (target === h.schema) return cloneHistogram(h);
  if (target > h.schema) throw new RangeError(`cannot copy from schema ${h.schema} to ${target}`);
  const c = cloneHistogram(h);
  c.counterResetHint = HINT_UNKNOWN;
  c.schema = target;
  withBuckets(
    c,
    reduce(expand(h.positiveSpans, h.positiveBuckets), h.schema, target),
    reduce(expand(h.negativeSpans, h.negativeBuckets), h.schema, target),
  );
  return c;
}

/** Drops the buckets below the zero threshold (their counts already in the zero count), then compacts. */
function trimInZero(h: FloatHistogram, pos: Buckets, neg: Buckets): void {
  for (const b of [pos, neg]) {
    for (let k = 0; k < b.idx.length; k++) {
      if (bucketBound(b.idx[k]! - 1, h.schema) >= h.zeroThreshold) break;
      b.cnt[k] = 0;
    }
  }
  withBuckets(h, pos, neg);
  compactInPlace(h, 0);
}

/** Adds (sign 1) or subtracts (sign −1) `b` into `a`; b's leading buckets at or below `threshold` are ignored. */
function addBuckets(a: Buckets, b: Buckets, schema: number, threshold: number, sign: number): Buckets {
  const out: Buckets = { idx: [], cnt: [] };
  let k = 0;
  while (k < b.idx.length && bucketBound(b.idx[k]!, schema) <= threshold) k++;
  let j = 0;
  while (j < a.idx.length || k < b.idx.length) {
    const ai = j < a.idx.length ? a.idx[j]! : Infinity;
    const bi = k < b.idx.length ? b.idx[k]! : Infinity;
    if (ai === bi) {
      out.idx.push(ai);
      out.cnt.push(a.cnt[j++]! + sign * b.cnt[k++]!);
    } else if (ai < bi) {
      out.idx.push(ai);
      out.cnt.push(a.cnt[j++]!);
    } else {
      out.idx.push(bi);
      out.cnt.push(sign * b.cnt[k++]!);
    }
  }
  return out;
}

function combine(h: FloatHistogram, other: FloatHistogram, sign: number): FloatHistogram {
  const r = cloneHistogram(h);
  let rp = expand(r.positiveSpans, r.positiveBuckets);
  let rn = expand(r.negativeSpans, r.negativeBuckets);
  let op = expand(other.positiveSpans, other.positiveBuckets);
  let on = expand(other.negativeSpans, other.negativeBuckets);
  // reconcileZeroBuckets: both sides get the larger threshold (moved past populated buckets).
  let oz = other.zeroCount;
  let ot = other.zeroThreshold;
  while (ot !== r.zeroThreshold) {
    if (r.zeroThreshold > ot) [oz, ot] = zeroCountFor(other, op, on, r.zeroThreshold);
    if (ot > r.zeroThreshold) {
      [r.zeroCount, r.zeroThreshold] = zeroCountFor(r, rp, rn, ot);
      trimInZero(r, rp, rn);
      rp = expand(r.positiveSpans, r.positiveBuckets);
      rn = expand(r.negativeSpans, r.negativeBuckets);
    }
  }
  r.zeroCount += sign * oz;
  r.count += sign * other.count;
  r.sum += sign * other.sum;
  if (other.schema < r.schema) {
    rp = reduce(rp, r.schema, other.schema);
    rn = reduce(rn, r.schema, other.schema);
    r.schema = other.schema;
  } else if (other.schema > r.schema) {
    op = reduce(op, other.schema, r.schema);
    on = reduce(on, other.schema, r.schema);
  }
  withBuckets(
    r,
    addBuckets(rp, op, r.schema, r.zeroThreshold, sign),
    addBuckets(rn, on, r.schema, r.zeroThreshold, sign),
  );
  return r;
}

/** Prometheus' hint rule for Add: equal stays; gauge wins; else unknown. */
function addHint(a: CounterResetHint, b: CounterResetHint): CounterResetHint {
  if (a === b) return a;
  if (a === HINT_GAUGE || b === HINT_GAUGE) return HINT_GAUGE;
  return HINT_UNKNOWN;
}

/** h + other (Prometheus' FloatHistogram.Add on a copy of h). */
export function addHistograms(h: FloatHistogram, other: FloatHistogram): FloatHistogram {
  const r = combine(h, other, 1);
  r.counterResetHint = addHint(h.counterResetHint, other.counterResetHint);
  return r;
}

/** h − other (Prometheus' FloatHistogram.Sub on a copy of h; h's hint kept). */
export function subHistograms(h: FloatHistogram, other: FloatHistogram): FloatHistogram {
  return combine(h, other, -1);
}

function compactInPlace(h: FloatHistogram, maxEmpty: number): void {
  for (const positive of [true, false]) {
    const b = positive
      ? expand(h.positiveSpans, h.positiveBuckets)
      : expand(h.negativeSpans, h.negativeBuckets);
    const spans: Span[] = [];
    const cnt: number[] = [];
    let end = 0;
    let prev = -1;
    for (let k = 0; k < b.idx.length; k++) {
      if (b.cnt[k] === 0) continue;
      const i = b.idx[k]!;
      const last = spans[spans.length - 1];
      if (last !== undefined && i - prev - 1 <= maxEmpty) {
        // Fill the gap with explicit empty buckets.
        for (let g = prev + 1; g < i; g++) cnt.push(0);
        last.length += i - prev;
      } else {
        spans.push({ offset: spans.length === 0 ? i : i - end, length: 1 });
      }
      cnt.push(b.cnt[k]!);
      prev = i;
      end = i + 1;
    }
    if (positive) {
      h.positiveSpans = spans;
      h.positiveBuckets = Float64Array.from(cnt);
    } else {
      h.negativeSpans = spans;
      h.negativeBuckets = Float64Array.from(cnt);
    }
  }
}

/** A copy with empty buckets removed and spans at most `maxEmpty` empty buckets apart merged. */
export function compactHistogram(h: FloatHistogram, maxEmpty = 0): FloatHistogram {
  const r = cloneHistogram(h);
  compactInPlace(r, maxEmpty);
  return r;
}

/** Buckets of `h` at `schema` ≤ h.schema, leading ones with upper bound ≤ `start` skipped. */
function bucketsFrom(
  spans: readonly Span[],
  buckets: Float64Array,
  from: number,
  schema: number,
  start: number,
): Buckets {
  const b = reduce(expand(spans, buckets), from, schema);
  let k = 0;
  if (start !== 0) while (k < b.idx.length && bucketBound(b.idx[k]!, schema) <= start) k++;
  return k === 0 ? b : { idx: b.idx.slice(k), cnt: b.cnt.slice(k) };
}

/** A populated bucket of `prev` missing in `cur`, or a count that went down. */
function bucketsReset(cur: Buckets, prev: Buckets): boolean {
  let j = 0;
  for (let k = 0; k < prev.idx.length; k++) {
    const pi = prev.idx[k]!;
    while (j < cur.idx.length && cur.idx[j]! < pi) j++;
    if (j < cur.idx.length && cur.idx[j] === pi) {
      if (cur.cnt[j]! < prev.cnt[k]!) return true;
    } else if (prev.cnt[k] !== 0) return true;
  }
  return false;
}

/** Whether `h` follows a counter reset after `previous` (Prometheus' FloatHistogram.DetectReset). */
export function detectReset(h: FloatHistogram, previous: FloatHistogram): boolean {
  if (h.counterResetHint === HINT_COUNTER_RESET) return true;
  if (h.counterResetHint === HINT_NOT_COUNTER_RESET) return false;
  if (h.count < previous.count) return true;
  if (h.schema > previous.schema) return true;
  if (h.zeroThreshold < previous.zeroThreshold) return true;
  const pp = expand(previous.positiveSpans, previous.positiveBuckets);
  const pn = expand(previous.negativeSpans, previous.negativeBuckets);
  const [pz, t] = zeroCountFor(previous, pp, pn, h.zeroThreshold);
  if (t !== h.zeroThreshold) return true;
  if (h.zeroCount < pz) return true;
  const zt = h.zeroThreshold;
  return (
    bucketsReset(
      bucketsFrom(h.positiveSpans, h.positiveBuckets, h.schema, h.schema, zt),
      bucketsFrom(previous.positiveSpans, previous.positiveBuckets, previous.schema, h.schema, zt),
    ) ||
    bucketsReset(
      bucketsFrom(h.negativeSpans, h.negativeBuckets, h.schema, h.schema, zt),
      bucketsFrom(previous.negativeSpans, previous.negativeBuckets, previous.schema, h.schema, zt),
    )
  );
}
