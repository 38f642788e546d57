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

/** Whether two span lists describe the same bucket indexes (however they are split). */
function sameLayout(a: readonly Span[], b: readonly Span[]): boolean {
  if (a === b) return true;
  let i = 0;
  let j = 0;
  let ai = 0;
  let bi = 0;
  let aLeft = 0;
  let bLeft = 0;
  for (;;) {
    while (aLeft === 0 && i < a.length) {
      ai += a[i]!.offset;
      aLeft = a[i++]!.length;
    }
    while (bLeft === 0 && j < b.length) {
      bi += b[j]!.offset;
      bLeft = b[j++]!.length;
    }
    if (aLeft === 0 || bLeft === 0) return aLeft === bLeft;
    if (ai !== bi) return false;
    // Both runs start at the same index: skip their common length.
    const n = Math.min(aLeft, bLeft);
    ai += n;
    bi += n;
    aLeft -= n;
    bLeft -= n;
  }
}

/** Whether the first bucket of `spans` lies at or below `threshold` (addBuckets would skip it). */
function startsInZero(spans: readonly Span[], schema: number, threshold: number): boolean {
  return spans.length > 0 && threshold > 0 && bucketBound(spans[0]!.offset, schema) <= threshold;
}

function addArrays(a: Float64Array, b: Float64Array, sign: number): Float64Array {
  const r = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = a[i]! + sign * b[i]!;
  return r;
}

/**
 * The common case, bucket by bucket: same schema, zero threshold and buckets. The result shares
 * h's span arrays (spans are never modified in place here).
 */
/** Same schema, zero threshold and buckets, and none of other's at or below the threshold. */
function sameShape(h: FloatHistogram, other: FloatHistogram): boolean {
  return (
    h.schema === other.schema &&
    h.zeroThreshold === other.zeroThreshold &&
    h.positiveBuckets.length === other.positiveBuckets.length &&
    h.negativeBuckets.length === other.negativeBuckets.length &&
    sameLayout(h.positiveSpans, other.positiveSpans) &&
    sameLayout(h.negativeSpans, other.negativeSpans) &&
    !startsInZero(other.positiveSpans, h.schema, h.zeroThreshold) &&
    !startsInZero(other.negativeSpans, h.schema, h.zeroThreshold)
  );
}

function combineSameLayout(
  h: FloatHistogram,
  other: FloatHistogram,
  sign: number,
): FloatHistogram | undefined {
  if (!sameShape(h, other)) return undefined;
  return {
    kind: 'floathistogram',
    counterResetHint: h.counterResetHint,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount + sign * other.zeroCount,
    count: h.count + sign * other.count,
    sum: h.sum + sign * other.sum,
    positiveSpans: h.positiveSpans,
    negativeSpans: h.negativeSpans,
    positiveBuckets: addArrays(h.positiveBuckets, other.positiveBuckets, sign),
    negativeBuckets: addArrays(h.negativeBuckets, other.negativeBuckets, sign),
  };
}

function combine(h: FloatHistogram, other: FloatHistogram, sign: number): FloatHistogram {
  const fast = combineSameLayout(h, other, sign);
  if (fast !== undefined) return fast;
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

/** Positions of `other`'s buckets in `acc`'s bucket array, reused; see subset(). */
let positions = new Int32Array(64);

/**
 * Whether every bucket index of `sub` is one of `sup`'s; if so, positions[at + k] is the position
 * in sup's bucket array of sub's k-th bucket. No allocation (positions grows as needed).
 */
function subset(sup: readonly Span[], sub: readonly Span[], subLen: number, at: number): boolean {
  if (positions.length < at + subLen) {
    const grown = new Int32Array(Math.max(2 * positions.length, at + subLen));
    grown.set(positions);
    positions = grown;
  }
  // Cursor over sup: the index of its current bucket (cur) and that bucket's position (pos).
  let si = 0;
  let left = 0;
  let next = 0;
  let cur = -Infinity;
  let pos = -1;
  let k = at;
  let idx = 0;
  for (const span of sub) {
    idx += span.offset;
    for (let j = 0; j < span.length; j++, idx++) {
      while (cur < idx) {
        while (left === 0) {
          if (si >= sup.length) return false;
          next += sup[si]!.offset;
          left = sup[si++]!.length;
        }
        cur = next++;
        left--;
        pos++;
      }
      if (cur !== idx) return false;
      positions[k++] = pos;
    }
  }
  return true;
}

/** Both sides of `other` within acc's layout at the same schema and threshold (positions filled: positive from 0, negative after). */
function fitsInto(acc: FloatHistogram, other: FloatHistogram): boolean {
  return (
    acc.schema === other.schema &&
    acc.zeroThreshold === other.zeroThreshold &&
    !startsInZero(other.positiveSpans, acc.schema, acc.zeroThreshold) &&
    !startsInZero(other.negativeSpans, acc.schema, acc.zeroThreshold) &&
    subset(acc.positiveSpans, other.positiveSpans, other.positiveBuckets.length, 0) &&
    subset(acc.negativeSpans, other.negativeSpans, other.negativeBuckets.length, other.positiveBuckets.length)
  );
}

/**
 * acc += sign × other in place when other's buckets are all among acc's at the same schema and
 * zero threshold (the common case of an accumulating aggregate: the result of Add then has acc's
 * layout); false, acc untouched, otherwise (use addHistograms).
 */
export function addInPlace(acc: FloatHistogram, other: FloatHistogram, sign = 1): boolean {
  if (!fitsInto(acc, other)) return false;
  acc.counterResetHint = addHint(acc.counterResetHint, other.counterResetHint);
  acc.zeroCount += sign * other.zeroCount;
  acc.count += sign * other.count;
  acc.sum += sign * other.sum;
  const np = other.positiveBuckets.length;
  for (let i = 0; i < np; i++) acc.positiveBuckets[positions[i]!]! += sign * other.positiveBuckets[i]!;
  for (let i = 0; i < other.negativeBuckets.length; i++) {
    acc.negativeBuckets[positions[np + i]!]! += sign * other.negativeBuckets[i]!;
  }
  return true;
}

/** acc += a − b in place when a and b have the same shape and fit acc (see addInPlace); false otherwise. */
export function addDifferenceInPlace(acc: FloatHistogram, a: FloatHistogram, b: FloatHistogram): boolean {
  if (!sameShape(a, b) || !fitsInto(acc, a)) return false;
  acc.counterResetHint = addHint(acc.counterResetHint, a.counterResetHint);
  acc.zeroCount += a.zeroCount - b.zeroCount;
  acc.count += a.count - b.count;
  acc.sum += a.sum - b.sum;
  const np = a.positiveBuckets.length;
  for (let i = 0; i < np; i++)
    acc.positiveBuckets[positions[i]!]! += a.positiveBuckets[i]! - b.positiveBuckets[i]!;
  for (let i = 0; i < a.negativeBuckets.length; i++) {
    acc.negativeBuckets[positions[np + i]!]! += a.negativeBuckets[i]! - b.negativeBuckets[i]!;
  }
  return true;
}
