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

/** Buckets as parallel arrays of absolute index and count, ascending by index. */
interface Buckets {
  idx: number[];
  cnt: number[];
}

function expand(spans: readonly Span[], buckets: Float64Array): Buckets {
  const idx: number[] = [];
  const cnt: number[] = [];
  let i = 0;
  let k = 0;
  for (const s of spans) {
    i += s.offset;
    for (let j = 0; j < s.length; j++) {
      idx.push(i++);
      cnt.push(buckets[k++]!);
    }
  }
  return { idx, cnt };
}

function toSpans(b: Buckets): { spans: Span[]; buckets: Float64Array } {
  const spans: Span[] = [];
  let end = 0;
  for (let k = 0; k < b.idx.length; k++) {
    const i = b.idx[k]!;
    const last = spans[spans.length - 1];
    if (last !== undefined && i === end) last.length++;
    else spans.push({ offset: spans.length === 0 ? i : i - end, length: 1 });
    end = i + 1;
  }
  return { spans, buckets: Float64Array.from(b.cnt) };
}

/** Bucket `i` of schema `from` in schema `to` ≤ from (Prometheus' targetIdx). */
function targetIdx(i: number, from: number, to: number): number {
  return ((i - 1) >> (from - to)) + 1;
}

function reduce(b: Buckets, from: number, to: number): Buckets {
  if (from === to) return b;
  const out: Buckets = { idx: [], cnt: [] };
  for (let k = 0; k < b.idx.length; k++) {
    const t = targetIdx(b.idx[k]!, from, to);
    const n = out.idx.length;
    if (n > 0 && out.idx[n - 1] === t) out.cnt[n - 1]! += b.cnt[k]!;
    else {
      out.idx.push(t);
      out.cnt.push(b.cnt[k]!);
    }
  }
  return out;
}

function withBuckets(h: FloatHistogram, pos: Buckets, neg: Buckets): void {
  const p = toSpans(pos);
  const n = toSpans(neg);
  h.positiveSpans = p.spans;
  h.positiveBuckets = p.buckets;
  h.negativeSpans = n.spans;
  h.negativeBuckets = n.buckets;
}

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

/**
 * Zero count `h` would have with the larger threshold `t`, and the threshold actually usable (moved
 * up to a populated bucket's upper bound when `t` falls inside it): zeroCountForLargerThreshold.
 */
function zeroCountFor(h: FloatHistogram, pos: Buckets, neg: Buckets, t: number): [number, number] {
  if (t === h.zeroThreshold) return [h.zeroCount, t];
  outer: for (;;) {
    let count = h.zeroCount;
    for (let k = 0; k < pos.idx.length; k++) {
      const i = pos.idx[k]!;
      if (bucketBound(i - 1, h.schema) >= t) break;
      count += pos.cnt[k]!;
      if (bucketBound(i, h.schema) > t) {
        if (pos.cnt[k] !== 0) t = bucketBound(i, h.schema);
        break;
      }
    }
    for (let k = 0; k < neg.idx.length; k++) {
      const i = neg.idx[k]!;
      if (bucketBound(i - 1, h.schema) >= t) break;
      count += neg.cnt[k]!;
      if (bucketBound(i, h.schema) > t) {
        if (neg.cnt[k] !== 0) {
          t = bucketBound(i, h.schema);
          continue outer;
        }
        break;
      }
    }
    return [count, t];
  }
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

/**
 * The smallest zero threshold ≥ every one of `hs` that falls inside no populated bucket of any of
 * them (what pairwise reconcileZeroBuckets arrives at over the whole set).
 */
export function commonZeroThreshold(hs: readonly FloatHistogram[]): number {
  let t = 0;
  for (const h of hs) if (h.zeroThreshold > t) t = h.zeroThreshold;
  for (let changed = true; changed;) {
    changed = false;
    for (const h of hs) {
      if (h.zeroThreshold === t) continue;
      const [, nt] = zeroCountFor(
        h,
        expand(h.positiveSpans, h.positiveBuckets),
        expand(h.negativeSpans, h.negativeBuckets),
        t,
      );
      if (nt > t) {
        t = nt;
        changed = true;
      }
    }
  }
  return t;
}

/**
 * A copy with zero threshold `t` (≥ h's, not inside a populated bucket: see commonZeroThreshold):
 * the buckets below it move into the zero count and are removed, other buckets stay as they are.
 */
export function withZeroThreshold(h: FloatHistogram, t: number): FloatHistogram {
  if (t === h.zeroThreshold) return cloneHistogram(h);
  const pos = expand(h.positiveSpans, h.positiveBuckets);
  const neg = expand(h.negativeSpans, h.negativeBuckets);
  const r = cloneHistogram(h);
  [r.zeroCount, r.zeroThreshold] = zeroCountFor(h, pos, neg, t);
  const keep = (b: Buckets): Buckets => {
    let k = 0;
    while (k < b.idx.length && bucketBound(b.idx[k]! - 1, h.schema) < r.zeroThreshold) k++;
    return { idx: b.idx.slice(k), cnt: b.cnt.slice(k) };
  };
  withBuckets(r, keep(pos), keep(neg));
  return r;
}

/** A copy laid out on exactly the bucket indexes `pos` / `neg` (sorted; h's buckets all among them). */
export function withLayout(
  h: FloatHistogram,
  pos: readonly number[],
  neg: readonly number[],
): FloatHistogram {
  const r = cloneHistogram(h);
  const fill = (spans: readonly Span[], buckets: Float64Array, idx: readonly number[]): Buckets => {
    const b = expand(spans, buckets);
    const cnt = new Array<number>(idx.length).fill(0);
    let j = 0;
    for (let k = 0; k < b.idx.length; k++) {
      while (idx[j] !== b.idx[k]) {
        if (j >= idx.length) throw new RangeError(`bucket ${b.idx[k]} is not in the target layout`);
        j++;
      }
      cnt[j] = b.cnt[k]!;
    }
    return { idx: [...idx], cnt };
  };
  withBuckets(
    r,
    fill(h.positiveSpans, h.positiveBuckets, pos),
    fill(h.negativeSpans, h.negativeBuckets, neg),
  );
  return r;
}

/** Sorted union of the bucket indexes of `hs` (positive side, or negative). */
export function unionIndexes(hs: readonly FloatHistogram[], positive: boolean): number[] {
  const set = new Set<number>();
  for (const h of hs) {
    for (const i of expand(
      positive ? h.positiveSpans : h.negativeSpans,
      positive ? h.positiveBuckets : h.negativeBuckets,
    ).idx) {
      set.add(i);
    }
  }
  return [...set].sort((a, b) => a - b);
}

/** A copy with count, zero count, sum and every bucket divided by `d` (Prometheus' Div; 0 drops the buckets). */
export function divHistogram(h: FloatHistogram, d: number): FloatHistogram {
  const r = cloneHistogram(h);
  r.count /= d;
  r.zeroCount /= d;
  r.sum /= d;
  if (d === 0) {
    r.positiveSpans = [];
    r.negativeSpans = [];
    r.positiveBuckets = new Float64Array(0);
    r.negativeBuckets = new Float64Array(0);
    return r;
  }
  for (let i = 0; i < r.positiveBuckets.length; i++) r.positiveBuckets[i]! /= d;
  for (let i = 0; i < r.negativeBuckets.length; i++) r.negativeBuckets[i]! /= d;
  return r;
}
