/**
 * Bucket lists of exponential-schema histograms as parallel index/count arrays, and the two
 * primitives Prometheus' float_histogram.go builds on: reducing the resolution (bucket i of schema
 * s goes to ((i − 1) >> (s − t)) + 1 of schema t) and the zero count a larger zero threshold
 * would give (zeroCountForLargerThreshold). Shared by ops.ts and layout.ts.
 */
import { bucketBound } from './format.js';
import type { FloatHistogram, Span } from './types.js';

/** Buckets as parallel arrays of absolute index and count, ascending by index. */
export interface Buckets {
  idx: number[];
  cnt: number[];
}

export function expand(spans: readonly Span[], buckets: Float64Array): Buckets {
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

export function toSpans(b: Buckets): { spans: Span[]; buckets: Float64Array } {
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
export function targetIdx(i: number, from: number, to: number): number {
  return ((i - 1) >> (from - to)) + 1;
}

export function reduce(b: Buckets, from: number, to: number): Buckets {
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

export function withBuckets(h: FloatHistogram, pos: Buckets, neg: Buckets): void {
  const p = toSpans(pos);
  const n = toSpans(neg);
  h.positiveSpans = p.spans;
  h.positiveBuckets = p.buckets;
  h.negativeSpans = n.spans;
  h.negativeBuckets = n.buckets;
}

/**
 * Zero count `h` would have with the larger threshold `t`, and the threshold actually usable (moved
 * up to a populated bucket's upper bound when `t` falls inside it): zeroCountForLargerThreshold.
 */
export function zeroCountFor(h: FloatHistogram, pos: Buckets, neg: Buckets, t: number): [number, number] {
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
