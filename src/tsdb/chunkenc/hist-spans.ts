/**
 * Bucket layout arithmetic for appending to histogram chunks (the rules of Prometheus'
 * histogram_meta.go): which buckets a new sample adds (inserts that recode the chunk), which it
 * drops, the union layout of gauge histograms, and bucket-wise counter-reset detection.
 */
import type { Span } from '../histogram/types.js';

/** `num` new (empty) buckets go before the `pos`-th bucket of the old bucket array. */
export interface Insert {
  pos: number;
  num: number;
}

/** The absolute bucket indexes the spans describe, in order. */
export function bucketIndexes(spans: readonly Span[]): number[] {
  const out: number[] = [];
  let idx = 0;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    idx += s.offset;
    for (let k = 0; k < s.length; k++) out.push(idx++);
  }
  return out;
}

/**
 * Inserts that turn layout `a` into `b`, or null when `b` lacks a bucket of `a` (then the chunk
 * cannot take the sample: Prometheus treats that as a counter reset).
 */
export function expandSpansForward(a: readonly Span[], b: readonly Span[]): Insert[] | null {
  const ai = bucketIndexes(a);
  const bi = bucketIndexes(b);
  const inserts: Insert[] = [];
  let i = 0;
  let j = 0;
  let pending = 0;
  while (i < ai.length || j < bi.length) {
    if (i < ai.length && j < bi.length && ai[i] === bi[j]) {
      if (pending > 0) inserts.push({ pos: i, num: pending });
      pending = 0;
      i++;
      j++;
    } else if (j < bi.length && (i >= ai.length || ai[i]! > bi[j]!)) {
      pending++;
      j++;
    } else {
      return null;
    }
  }
  if (pending > 0) inserts.push({ pos: i, num: pending });
  return inserts;
}

/**
 * For gauge histograms: forward inserts (a → union), backward inserts (b → union) and the union
 * layout, built as Prometheus builds it (one span per run of adjacent buckets).
 */
export function expandSpansBothWays(
  a: readonly Span[],
  b: readonly Span[],
): { forward: Insert[]; backward: Insert[]; merged: Span[] } {
  const ai = bucketIndexes(a);
  const bi = bucketIndexes(b);
  const forward: Insert[] = [];
  const backward: Insert[] = [];
  const merged: Span[] = [];
  let last = 0;
  const add = (idx: number): void => {
    const off = idx - last - 1;
    if (off === 0 && merged.length > 0) merged[merged.length - 1]!.length++;
    else merged.push({ offset: merged.length === 0 ? off + 1 : off, length: 1 });
    last = idx;
  };
  let i = 0;
  let j = 0;
  let fNum = 0;
  let bNum = 0;
  while (i < ai.length || j < bi.length) {
    if (i < ai.length && j < bi.length && ai[i] === bi[j]) {
      if (fNum > 0) forward.push({ pos: i, num: fNum });
      if (bNum > 0) backward.push({ pos: j, num: bNum });
      fNum = bNum = 0;
      add(ai[i]!);
      i++;
      j++;
    } else if (i < ai.length && (j >= bi.length || ai[i]! < bi[j]!)) {
      // Only in a: b needs an empty bucket here.
      bNum++;
      if (fNum > 0) forward.push({ pos: i, num: fNum });
      fNum = 0;
      add(ai[i]!);
      i++;
    } else {
      fNum++;
      if (bNum > 0) backward.push({ pos: j, num: bNum });
      bNum = 0;
      add(bi[j]!);
      j++;
    }
  }
  if (fNum > 0) forward.push({ pos: i, num: fNum });
  if (bNum > 0) backward.push({ pos: j, num: bNum });
  return { forward, backward, merged };
}

/**
 * Writes `src` with the inserted empty buckets into `dst` (length = src + inserted). With
 * `deltas` the buckets are delta-encoded (integer histograms): the bucket after an insert
 * absorbs the difference so every old bucket keeps its count.
 */
export function applyInserts(
  src: Float64Array,
  dst: Float64Array,
  inserts: readonly Insert[],
  deltas: boolean,
): void {
  let o = 0;
  let v = 0;
  let k = 0;
  for (let i = 0; i <= src.length; i++) {
    if (k < inserts.length && inserts[k]!.pos === i) {
      dst[o++] = deltas ? 0 - v : 0;
      for (let x = 1; x < inserts[k]!.num; x++) dst[o++] = 0;
      k++;
      if (i < src.length) {
        const d = src[i]!;
        dst[o++] = deltas ? d + v : d;
        v += d;
      }
      continue;
    }
    if (i < src.length) {
      const d = src[i]!;
      dst[o++] = d;
      v += d;
    }
  }
}

/**
 * True if any bucket of layout `oldSpans` holds a smaller count in the new sample; `newSpans`
 * must cover every old bucket. Counts are absolute here (decode deltas first).
 */
export function bucketCountDropped(
  oldAbs: Float64Array,
  oldSpans: readonly Span[],
  newAbs: Float64Array,
  newSpans: readonly Span[],
): boolean {
  const oi = bucketIndexes(oldSpans);
  const ni = bucketIndexes(newSpans);
  let j = 0;
  for (let i = 0; i < oi.length; i++) {
    while (j < ni.length && ni[j]! < oi[i]!) j++;
    if (j < ni.length && ni[j] === oi[i] && newAbs[j]! < oldAbs[i]!) return true;
  }
  return false;
}
