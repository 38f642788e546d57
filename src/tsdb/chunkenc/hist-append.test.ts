/**
 * Appendability with empty spans, the vectors of Prometheus' TestHistogramChunkAppendableWithEmptySpan
 * (v2.53): the same buckets written with empty spans in different places are the same layout: the
 * sample is appended without inserts and without a counter reset, in both encodings.
 */
import { describe, expect, it } from 'vitest';
import { newHistogram, toFloatHistogram, type Histogram, type Span } from '../histogram/types.js';
import { FloatHistogramAppender } from './float-histogram-encode.js';
import { HistogramAppender } from './histogram-encode.js';
import { encodeHistogramChunks } from './hist-series.js';

const sp = (...xs: [number, number][]): Span[] => xs.map(([offset, length]) => ({ offset, length }));

function h(
  count: number,
  sum: number,
  zc: number,
  pS: Span[],
  pB: number[],
  nS: Span[],
  nB: number[],
): Histogram {
  const x = newHistogram();
  x.schema = 0;
  x.count = count;
  x.sum = sum;
  x.zeroThreshold = 0.001;
  x.zeroCount = zc;
  x.positiveSpans = pS;
  x.positiveBuckets = Float64Array.from(pB);
  x.negativeSpans = nS;
  x.negativeBuckets = Float64Array.from(nB);
  return x;
}

const neg = sp([1, 4], [2, 0], [2, 3]);
const nb1 = [1, 1, -1, 1, 0, 0, 0];
const nb2 = [1, 3, -2, 5, -2, 0, -3];
const pb1 = [1, 1, -1, 0, 0, 0, 0];
const pb2 = [1, 2, -2, 1, -1, 0, 0];

const cases: [string, Span[], Span[]][] = [
  ['empty span in old and new histogram', sp([0, 4], [0, 0], [0, 3]), sp([0, 4], [0, 0], [0, 3])],
  ['empty span in old histogram', sp([1, 0], [2, 4], [0, 3]), sp([3, 4], [0, 3])],
  ['empty span in new histogram', sp([0, 4], [3, 3]), sp([0, 4], [1, 0], [2, 3])],
  ['two empty spans mixing offsets', sp([0, 4], [1, 0], [3, 0], [4, 3]), sp([0, 4], [3, 0], [1, 0], [4, 3])],
];

describe('appendable with empty spans', () => {
  it.each(cases)('%s', (_name, s1, s2) => {
    const h1 = h(21, 1234.5, 4, s1, pb1, neg, nb1);
    const h2 = h(37, 2345.6, 5, s2, pb2, neg, nb2);
    const a = new HistogramAppender();
    a.appendRaw(1, h1);
    const r = a.appendable(h2);
    expect([r.ok, r.counterReset, r.positiveInserts, r.negativeInserts]).toEqual([true, false, [], []]);
    const f = new FloatHistogramAppender();
    f.appendRaw(1, toFloatHistogram(h1));
    const q = f.appendable(toFloatHistogram(h2));
    expect([q.ok, q.counterReset, q.positiveInserts, q.negativeInserts]).toEqual([true, false, [], []]);
  });
});

describe('series encoder', () => {
  it('refuses timestamps that do not increase (ERR_INVALID_ARGUMENT)', () => {
    const x = h(21, 1, 4, sp([0, 7]), pb1, neg, nb1);
    expect(() => encodeHistogramChunks([5, 5], [x, x])).toThrow(/does not follow the previous one at 5/);
    expect(() => encodeHistogramChunks([5, 4], [x, x])).toThrow(/does not follow/);
  });
});
