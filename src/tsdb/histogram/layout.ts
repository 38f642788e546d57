/**
 * Bringing float histograms to one zero threshold and one bucket layout (so values of different
 * layouts fit one chunk), and Prometheus' Div. Semantics of float_histogram.go
 * (zeroCountForLargerThreshold, reconcileZeroBuckets, Div).
 */
import { bucketBound } from './format.js';
import { expand, withBuckets, zeroCountFor, type Buckets } from './buckets.js';
import { cloneHistogram, type FloatHistogram, type Span } from './types.js';
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
