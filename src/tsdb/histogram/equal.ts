/**
 * Equality of two histogram samples as values: what a re-encoded chunk must give back. Bucket
 * layouts may differ (recoding and gauge merges insert empty buckets), so buckets are compared by
 * index and absolute count, empty ones skipped; sums bit for bit (NaN payloads included).
 */
import { isStaleNaN, type AnyHistogram, type Span } from './types.js';

const f64 = new Float64Array(2);
const u32 = new Uint32Array(f64.buffer);

function sameBits(a: number, b: number): boolean {
  f64[0] = a;
  f64[1] = b;
  return u32[0] === u32[2] && u32[1] === u32[3];
}

/** Walks the non-empty buckets of one side: index and absolute count. */
class BucketWalk {
  private span = 0;
  private inSpan = 0;
  private i = 0;
  private abs = 0;
  index = 0;
  count = 0;

  constructor(
    private readonly spans: readonly Span[],
    private readonly buckets: Float64Array,
    private readonly deltas: boolean,
  ) {
    this.index = spans.length > 0 ? spans[0]!.offset - 1 : 0;
  }

  /** Moves to the next non-empty bucket; false at the end. */
  next(): boolean {
    for (;;) {
      while (this.span < this.spans.length && this.inSpan >= this.spans[this.span]!.length) {
        this.span++;
        this.inSpan = 0;
        if (this.span < this.spans.length) this.index += this.spans[this.span]!.offset;
      }
      if (this.span >= this.spans.length || this.i >= this.buckets.length) return false;
      const v = this.buckets[this.i++]!;
      this.abs = this.deltas ? this.abs + v : v;
      this.inSpan++;
      this.index++;
      if (this.abs !== 0) {
        this.count = this.abs;
        return true;
      }
    }
  }
}

function sameBuckets(
  as: readonly Span[],
  ab: Float64Array,
  ad: boolean,
  bs: readonly Span[],
  bb: Float64Array,
  bd: boolean,
): boolean {
  const a = new BucketWalk(as, ab, ad);
  const b = new BucketWalk(bs, bb, bd);
  for (;;) {
    const na = a.next();
    const nb = b.next();
    if (na !== nb) return false;
    if (!na) return true;
    if (a.index !== b.index || !sameBits(a.count, b.count)) return false;
  }
}

export function sameHistogramValue(a: AnyHistogram, b: AnyHistogram): boolean {
  if (isStaleNaN(a.sum) || isStaleNaN(b.sum)) return isStaleNaN(a.sum) && isStaleNaN(b.sum);
  const ad = a.kind === 'histogram';
  const bd = b.kind === 'histogram';
  return (
    a.schema === b.schema &&
    sameBits(a.zeroThreshold, b.zeroThreshold) &&
    sameBits(a.zeroCount, b.zeroCount) &&
    sameBits(a.count, b.count) &&
    sameBits(a.sum, b.sum) &&
    sameBuckets(a.positiveSpans, a.positiveBuckets, ad, b.positiveSpans, b.positiveBuckets, bd) &&
    sameBuckets(a.negativeSpans, a.negativeBuckets, ad, b.negativeSpans, b.negativeBuckets, bd)
  );
}
