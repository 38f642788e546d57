/**
 * FloatHistogram arithmetic against Prometheus' semantics: the Add and Sub cases are those of
 * Prometheus' model/histogram/float_histogram_test.go (TestFloatHistogramAdd / Sub), ported as
 * data and compared after Compact(0) as that test does; copyToSchema, detectReset and compact
 * cases are worked out by hand from the rules in float_histogram.go.
 */
import { describe, expect, it } from 'vitest';
import {
  addDifferenceInPlace,
  addHistograms,
  addInPlace,
  compactHistogram,
  copyToSchema,
  detectReset,
  subHistograms,
} from '../../../src/tsdb/histogram/ops.js';
import {
  HINT_COUNTER_RESET,
  HINT_GAUGE,
  HINT_NOT_COUNTER_RESET,
  HINT_UNKNOWN,
  newFloatHistogram,
  type CounterResetHint,
  type FloatHistogram,
} from '../../../src/tsdb/histogram/types.js';

interface Spec {
  zt?: number;
  zc?: number;
  c?: number;
  s?: number;
  schema?: number;
  hint?: CounterResetHint;
  p?: [number, number][];
  pb?: number[];
  n?: [number, number][];
  nb?: number[];
}

function fh(x: Spec): FloatHistogram {
  const h = newFloatHistogram();
  h.zeroThreshold = x.zt ?? 0;
  h.zeroCount = x.zc ?? 0;
  h.count = x.c ?? 0;
  h.sum = x.s ?? 0;
  h.schema = x.schema ?? 0;
  h.counterResetHint = x.hint ?? HINT_UNKNOWN;
  h.positiveSpans = (x.p ?? []).map(([offset, length]) => ({ offset, length }));
  h.positiveBuckets = Float64Array.from(x.pb ?? []);
  h.negativeSpans = (x.n ?? []).map(([offset, length]) => ({ offset, length }));
  h.negativeBuckets = Float64Array.from(x.nb ?? []);
  return h;
}

/** The comparable form: compacted, hint dropped, buckets as plain arrays. */
function norm(h: FloatHistogram): object {
  const c = compactHistogram(h, 0);
  return {
    schema: c.schema,
    zeroThreshold: c.zeroThreshold,
    zeroCount: c.zeroCount,
    count: c.count,
    sum: c.sum,
    positiveSpans: c.positiveSpans,
    positiveBuckets: [...c.positiveBuckets],
    negativeSpans: c.negativeSpans,
    negativeBuckets: [...c.negativeBuckets],
  };
}

const A = fh({
  zt: 0.01,
  zc: 11,
  c: 30,
  s: 2.345,
  p: [
    [-2, 2],
    [2, 3],
  ],
  pb: [1, 0, 3, 4, 7],
  n: [
    [3, 2],
    [3, 2],
  ],
  nb: [3, 1, 5, 6],
});

const addCases: [string, Spec | FloatHistogram, Spec, Spec][] = [
  [
    'same bucket layout',
    {
      zt: 0.01,
      zc: 11,
      c: 30,
      s: 2.345,
      p: [
        [-2, 2],
        [1, 3],
      ],
      pb: [1, 0, 3, 4, 7],
      n: [
        [3, 2],
        [3, 2],
      ],
      nb: [3, 1, 5, 6],
    },
    {
      zt: 0.01,
      zc: 8,
      c: 21,
      s: 1.234,
      p: [
        [-2, 2],
        [1, 3],
      ],
      pb: [0, 0, 2, 3, 6],
      n: [
        [3, 2],
        [3, 2],
      ],
      nb: [1, 1, 4, 4],
    },
    {
      zt: 0.01,
      zc: 19,
      c: 51,
      s: 3.579,
      p: [
        [-2, 2],
        [1, 3],
      ],
      pb: [1, 0, 5, 7, 13],
      n: [
        [3, 2],
        [3, 2],
      ],
      nb: [4, 2, 9, 10],
    },
  ],
  [
    'non-overlapping spans',
    {
      zt: 0.001,
      zc: 11,
      c: 30,
      s: 2.345,
      p: [
        [-2, 2],
        [2, 3],
      ],
      pb: [1, 0, 3, 4, 7],
      n: [
        [3, 2],
        [3, 2],
      ],
      nb: [3, 1, 5, 6],
    },
    {
      zt: 0.001,
      zc: 8,
      c: 21,
      s: 1.234,
      p: [
        [0, 2],
        [3, 3],
      ],
      pb: [5, 4, 2, 3, 6],
      n: [
        [-9, 2],
        [3, 2],
      ],
      nb: [1, 1, 4, 4],
    },
    {
      zt: 0.001,
      zc: 19,
      c: 51,
      s: 3.579,
      p: [
        [-2, 4],
        [0, 6],
      ],
      pb: [1, 0, 5, 4, 3, 4, 7, 2, 3, 6],
      n: [
        [-9, 2],
        [3, 2],
        [5, 2],
        [3, 2],
      ],
      nb: [1, 1, 4, 4, 3, 1, 5, 6],
    },
  ],
  [
    'overlapping spans',
    A,
    {
      zt: 0.01,
      zc: 8,
      c: 21,
      s: 1.234,
      p: [
        [-1, 4],
        [0, 3],
      ],
      pb: [5, 4, 2, 3, 6, 2, 5],
      n: [
        [4, 2],
        [1, 2],
      ],
      nb: [1, 1, 4, 4],
    },
    {
      zt: 0.01,
      zc: 19,
      c: 51,
      s: 3.579,
      p: [
        [-2, 4],
        [0, 4],
      ],
      pb: [1, 5, 4, 2, 6, 10, 9, 5],
      n: [
        [3, 3],
        [1, 3],
      ],
      nb: [3, 2, 1, 4, 9, 6],
    },
  ],
  [
    'schema change',
    {
      zt: 0.01,
      zc: 8,
      c: 21,
      s: 1.234,
      p: [
        [-1, 4],
        [0, 3],
      ],
      pb: [5, 4, 2, 3, 6, 2, 5],
      n: [
        [4, 2],
        [1, 2],
      ],
      nb: [1, 1, 4, 4],
    },
    {
      zt: 0.01,
      zc: 11,
      c: 30,
      s: 2.345,
      schema: 1,
      p: [
        [-4, 3],
        [5, 5],
      ],
      pb: [1, 0, 0, 3, 2, 2, 3, 4],
      n: [
        [6, 3],
        [6, 4],
      ],
      nb: [3, 0.5, 0.5, 2, 3, 2, 4],
    },
    {
      zt: 0.01,
      zc: 19,
      c: 51,
      s: 3.579,
      p: [
        [-2, 5],
        [0, 3],
      ],
      pb: [1, 5, 4, 2, 6, 10, 9, 5],
      n: [
        [3, 3],
        [1, 3],
      ],
      nb: [3, 2, 1, 4, 9, 6],
    },
  ],
  [
    'larger zero bucket in first histogram',
    {
      zt: 1,
      zc: 17,
      c: 21,
      s: 1.234,
      p: [
        [1, 2],
        [0, 3],
      ],
      pb: [2, 3, 6, 2, 5],
      n: [
        [4, 2],
        [1, 2],
      ],
      nb: [1, 1, 4, 4],
    },
    {
      zt: 0.01,
      zc: 11,
      c: 30,
      s: 2.345,
      p: [
        [-2, 2],
        [2, 3],
      ],
      pb: [1, 0, 3, 4, 7],
      n: [
        [3, 2],
        [3, 2],
      ],
      nb: [3, 1, 5, 6],
    },
    {
      zt: 1,
      zc: 29,
      c: 51,
      s: 3.579,
      p: [
        [1, 2],
        [0, 3],
      ],
      pb: [2, 6, 10, 9, 5],
      n: [
        [3, 3],
        [1, 3],
      ],
      nb: [3, 2, 1, 4, 9, 6],
    },
  ],
  [
    'larger zero threshold in first histogram ends up inside a populated bucket of second histogram',
    {
      zt: 0.2,
      zc: 17,
      c: 21,
      s: 1.234,
      p: [
        [1, 2],
        [0, 3],
      ],
      pb: [2, 3, 6, 2, 5],
      n: [
        [4, 2],
        [1, 2],
      ],
      nb: [1, 1, 4, 4],
    },
    {
      zt: 0.01,
      zc: 11,
      c: 30,
      s: 2.345,
      p: [
        [-2, 2],
        [2, 3],
      ],
      pb: [1, 0, 3, 4, 7],
      n: [
        [3, 2],
        [3, 2],
      ],
      nb: [3, 1, 5, 6],
    },
    {
      zt: 0.25,
      zc: 29,
      c: 51,
      s: 3.579,
      p: [
        [-1, 1],
        [1, 5],
      ],
      pb: [0, 2, 6, 10, 9, 5],
      n: [
        [3, 3],
        [1, 3],
      ],
      nb: [3, 2, 1, 4, 9, 6],
    },
  ],
  [
    'schema change combined with larger zero bucket in second histogram',
    {
      zt: 0.01,
      zc: 8,
      c: 21,
      s: 1.234,
      p: [
        [-2, 5],
        [0, 3],
      ],
      pb: [2, 5, 4, 2, 3, 6, 2, 5],
      n: [
        [4, 2],
        [1, 2],
      ],
      nb: [1, 1, 4, 4],
    },
    {
      zt: 0.25,
      zc: 12,
      c: 30,
      s: 2.345,
      schema: 1,
      p: [
        [-3, 2],
        [5, 5],
      ],
      pb: [1, 0, 3, 2, 2, 3, 4],
      n: [
        [6, 3],
        [6, 4],
      ],
      nb: [3, 0.5, 0.5, 2, 3, 2, 4],
    },
    {
      zt: 0.25,
      zc: 22,
      c: 51,
      s: 3.579,
      p: [[-1, 7]],
      pb: [6, 4, 2, 6, 10, 9, 5],
      n: [
        [3, 3],
        [1, 3],
      ],
      nb: [3, 2, 1, 4, 9, 6],
    },
  ],
  [
    'schema change combined with larger zero bucket in first histogram',
    {
      zt: 0.25,
      zc: 8,
      c: 21,
      s: 1.234,
      p: [
        [-1, 4],
        [0, 3],
      ],
      pb: [5, 4, 2, 3, 6, 2, 5],
      n: [
        [4, 2],
        [1, 2],
      ],
      nb: [1, 1, 4, 4],
    },
    {
      zt: 0.01,
      zc: 11,
      c: 30,
      s: 2.345,
      schema: 1,
      p: [
        [-4, 3],
        [5, 5],
      ],
      pb: [1, 0, 0, 3, 2, 2, 3, 4],
      n: [
        [6, 3],
        [6, 4],
      ],
      nb: [3, 0.5, 0.5, 2, 3, 2, 4],
    },
    {
      zt: 0.25,
      zc: 20,
      c: 51,
      s: 3.579,
      p: [
        [-1, 4],
        [0, 3],
      ],
      pb: [5, 4, 2, 6, 10, 9, 5],
      n: [
        [3, 3],
        [1, 3],
      ],
      nb: [3, 2, 1, 4, 9, 6],
    },
  ],
];

const asH = (x: Spec | FloatHistogram): FloatHistogram => ('kind' in x ? x : fh(x as Spec));

describe('addHistograms (Prometheus TestFloatHistogramAdd cases)', () => {
  for (const [name, a, b, want] of addCases) {
    it(name, () => {
      const ha = asH(a);
      const hb = fh(b);
      const before = [norm(ha), norm(hb)];
      expect(norm(addHistograms(ha, hb))).toEqual(norm(fh(want)));
      expect(norm(addHistograms(hb, ha))).toEqual(norm(fh(want)));
      // Inputs are not modified.
      expect([norm(ha), norm(hb)]).toEqual(before);
    });
  }

  it('combines counter-reset hints as Prometheus does', () => {
    const g = fh({ c: 1, hint: HINT_GAUGE });
    const u = fh({ c: 1, hint: HINT_UNKNOWN });
    const n = fh({ c: 1, hint: HINT_NOT_COUNTER_RESET });
    const r = fh({ c: 1, hint: HINT_COUNTER_RESET });
    expect(addHistograms(n, g).counterResetHint).toBe(HINT_GAUGE);
    expect(addHistograms(g, u).counterResetHint).toBe(HINT_GAUGE);
    expect(addHistograms(n, n).counterResetHint).toBe(HINT_NOT_COUNTER_RESET);
    expect(addHistograms(n, u).counterResetHint).toBe(HINT_UNKNOWN);
    expect(addHistograms(r, n).counterResetHint).toBe(HINT_UNKNOWN);
  });
});

describe('subHistograms (Prometheus TestFloatHistogramSub)', () => {
  it('same bucket layout', () => {
    const a = fh({
      zt: 0.01,
      zc: 11,
      c: 30,
      s: 23,
      p: [
        [-2, 2],
        [1, 3],
      ],
      pb: [1, 0, 3, 4, 7],
      n: [
        [3, 2],
        [3, 2],
      ],
      nb: [3, 1, 5, 6],
    });
    const b = fh({
      zt: 0.01,
      zc: 8,
      c: 21,
      s: 12,
      p: [
        [-2, 2],
        [1, 3],
      ],
      pb: [0, 0, 2, 3, 6],
      n: [
        [3, 2],
        [3, 2],
      ],
      nb: [1, 1, 4, 4],
    });
    const want = fh({
      zt: 0.01,
      zc: 3,
      c: 9,
      s: 11,
      p: [
        [-2, 2],
        [1, 3],
      ],
      pb: [1, 0, 1, 1, 1],
      n: [
        [3, 2],
        [3, 2],
      ],
      nb: [2, 0, 1, 2],
    });
    expect(norm(subHistograms(a, b))).toEqual(norm(want));
  });

  it('a bucket only in the subtrahend comes out negative; a − a is empty', () => {
    const a = fh({ c: 3, s: 3, p: [[0, 1]], pb: [3] });
    const b = fh({ c: 1, s: 1, p: [[2, 1]], pb: [1] });
    const d = subHistograms(a, b);
    expect(d.positiveSpans).toEqual([
      { offset: 0, length: 1 },
      { offset: 1, length: 1 },
    ]);
    expect([...d.positiveBuckets]).toEqual([3, -1]);
    expect(d.count).toBe(2);
    expect(norm(subHistograms(A, A))).toEqual(norm(fh({ zt: 0.01, zc: 0, c: 0, s: 0 })));
  });
});

describe('copyToSchema', () => {
  it('merges buckets by ((i − 1) >> Δ) + 1 and drops the hint', () => {
    const h = fh({
      zt: 0.01,
      zc: 11,
      c: 30,
      s: 2.345,
      schema: 1,
      hint: HINT_NOT_COUNTER_RESET,
      p: [
        [-4, 3],
        [5, 5],
      ],
      pb: [1, 0, 0, 3, 2, 2, 3, 4],
      n: [
        [6, 3],
        [6, 4],
      ],
      nb: [3, 0.5, 0.5, 2, 3, 2, 4],
    });
    const r = copyToSchema(h, 0);
    // Positive: −4→−2, −3→−1, −2→−1, 4→2, 5→3, 6→3, 7→4, 8→4.
    expect(r.schema).toBe(0);
    expect(r.counterResetHint).toBe(HINT_UNKNOWN);
    expect(r.positiveSpans).toEqual([
      { offset: -2, length: 2 },
      { offset: 2, length: 3 },
    ]);
    expect([...r.positiveBuckets]).toEqual([1, 0, 3, 4, 7]);
    // Negative: 6→3, 7→4, 8→4, 15→8, 16→8, 17→9, 18→9.
    expect(r.negativeSpans).toEqual([
      { offset: 3, length: 2 },
      { offset: 3, length: 2 },
    ]);
    expect([...r.negativeBuckets]).toEqual([3, 1, 5, 6]);
    expect([r.count, r.sum, r.zeroCount, r.zeroThreshold]).toEqual([30, 2.345, 11, 0.01]);
    // Same schema: a plain copy, hint kept.
    expect(copyToSchema(h, 1).counterResetHint).toBe(HINT_NOT_COUNTER_RESET);
    expect(() => copyToSchema(h, 2)).toThrow(RangeError);
  });

  it('reduces by several steps at once (schema 3 → −1)', () => {
    const h = fh({
      schema: 3,
      c: 4,
      p: [
        [1, 1],
        [15, 1],
        [16, 1],
        [100, 1],
      ],
      pb: [1, 1, 1, 1],
    });
    // Δ = 4: 1→1, 17→2, 34→3, 135→9.
    const r = copyToSchema(h, -1);
    expect(r.positiveSpans).toEqual([
      { offset: 1, length: 3 },
      { offset: 5, length: 1 },
    ]);
    expect([...r.positiveBuckets]).toEqual([1, 1, 1, 1]);
  });
});

describe('detectReset', () => {
  const prev = fh({ zt: 0.01, zc: 2, c: 10, s: 5, schema: 1, p: [[0, 3]], pb: [2, 3, 3] });
  const cases: [string, Spec, boolean][] = [
    [
      'all counts up, a new bucket',
      { zt: 0.01, zc: 2, c: 12, s: 6, schema: 1, p: [[0, 4]], pb: [2, 3, 4, 1] },
      false,
    ],
    ['count down', { zt: 0.01, zc: 2, c: 9, s: 6, schema: 1, p: [[0, 3]], pb: [2, 3, 3] }, true],
    ['a bucket down', { zt: 0.01, zc: 2, c: 12, s: 6, schema: 1, p: [[0, 3]], pb: [2, 2, 6] }, true],
    ['zero count down', { zt: 0.01, zc: 1, c: 12, s: 6, schema: 1, p: [[0, 3]], pb: [3, 3, 5] }, true],
    [
      'a populated bucket missing',
      { zt: 0.01, zc: 2, c: 12, s: 6, schema: 1, p: [[0, 2]], pb: [5, 5] },
      true,
    ],
    ['schema increase', { zt: 0.01, zc: 2, c: 12, s: 6, schema: 2, p: [[0, 3]], pb: [2, 3, 3] }, true],
    // Schema 1 → 0: buckets 0,1,2 → 0,1,1 (2, 6): not a reset.
    [
      'schema decrease, merged buckets not down',
      { zt: 0.01, zc: 2, c: 10, s: 6, schema: 0, p: [[0, 2]], pb: [2, 6] },
      false,
    ],
    [
      'schema decrease, merged bucket down',
      { zt: 0.01, zc: 2, c: 10, s: 6, schema: 0, p: [[0, 2]], pb: [2, 5] },
      true,
    ],
    [
      'zero threshold decrease',
      { zt: 0.001, zc: 2, c: 12, s: 6, schema: 1, p: [[0, 3]], pb: [2, 3, 3] },
      true,
    ],
    // Threshold 1 (a bucket boundary at schema 1: bucket 0 ends at 1): bucket 0 folds into the zero bucket.
    [
      'zero threshold increase absorbing a bucket',
      { zt: 1, zc: 4, c: 10, s: 6, schema: 1, p: [[1, 2]], pb: [3, 3] },
      false,
    ],
    [
      'zero threshold increase, absorbed count lost',
      { zt: 1, zc: 3, c: 10, s: 6, schema: 1, p: [[1, 2]], pb: [3, 3] },
      true,
    ],
    // Threshold 1.2 falls inside populated bucket 1 (1, 1.414]: a reset.
    [
      'zero threshold inside a populated bucket',
      { zt: 1.2, zc: 7, c: 10, s: 6, schema: 1, p: [[2, 1]], pb: [3] },
      true,
    ],
    [
      'hint says counter reset',
      { zt: 0.01, zc: 2, c: 12, s: 6, schema: 1, hint: HINT_COUNTER_RESET, p: [[0, 3]], pb: [2, 3, 3] },
      true,
    ],
    [
      'hint says not a reset',
      { zt: 0.01, zc: 2, c: 1, s: 6, schema: 1, hint: HINT_NOT_COUNTER_RESET, p: [[0, 1]], pb: [1] },
      false,
    ],
  ];
  for (const [name, cur, want] of cases) {
    it(name, () => {
      expect(detectReset(fh(cur), prev)).toBe(want);
    });
  }
});

describe('compactHistogram', () => {
  it('drops empty buckets at span edges, merges and splits spans', () => {
    const h = fh({
      c: 9,
      p: [
        [-2, 4],
        [0, 3],
        [2, 2],
      ],
      pb: [0, 1, 0, 2, 0, 0, 3, 3, 0],
      n: [[1, 2]],
      nb: [0, 0],
    });
    const c0 = compactHistogram(h, 0);
    // Positive indexes: −2:0 −1:1 0:0 1:2 2:0 3:0 4:3 7:3 8:0.
    expect(c0.positiveSpans).toEqual([
      { offset: -1, length: 1 },
      { offset: 1, length: 1 },
      { offset: 2, length: 1 },
      { offset: 2, length: 1 },
    ]);
    expect([...c0.positiveBuckets]).toEqual([1, 2, 3, 3]);
    expect(c0.negativeSpans).toEqual([]);
    const c2 = compactHistogram(h, 2);
    expect(c2.positiveSpans).toEqual([{ offset: -1, length: 9 }]);
    expect([...c2.positiveBuckets]).toEqual([1, 0, 2, 0, 0, 3, 0, 0, 3]);
    // The input is untouched.
    expect(h.positiveSpans.length).toBe(3);
  });
});

describe('addInPlace / addDifferenceInPlace', () => {
  it('equal addHistograms / a + (b − c) where the shapes agree, and refuse otherwise', () => {
    const a = fh({
      zt: 0.01,
      zc: 1,
      c: 10,
      s: 3,
      p: [
        [0, 2],
        [0, 1],
      ],
      pb: [1, 2, 3],
    });
    const b = fh({ zt: 0.01, zc: 2, c: 12, s: 4, p: [[0, 3]], pb: [2, 3, 4] });
    const c = fh({ zt: 0.01, zc: 1, c: 11, s: 1, p: [[0, 3]], pb: [1, 1, 1] });
    const want = norm(addHistograms(a, b));
    const acc = compactHistogram(a, 2);
    expect(addInPlace(acc, b)).toBe(true);
    expect(norm(acc)).toEqual(want);
    const acc2 = compactHistogram(a, 2);
    expect(addDifferenceInPlace(acc2, b, c)).toBe(true);
    expect(norm(acc2)).toEqual(norm(addHistograms(a, subHistograms(b, c))));
    const other = fh({ zt: 0.01, c: 1, p: [[5, 1]], pb: [1] });
    const acc3 = compactHistogram(a, 2);
    expect(addInPlace(acc3, other)).toBe(false);
    expect(addDifferenceInPlace(acc3, other, other)).toBe(false);
    expect(norm(acc3)).toEqual(norm(a));
  });
});

describe('addInPlace with a subset layout', () => {
  it('adds a histogram whose buckets are a subset of the accumulator’s, however the spans are split', () => {
    const acc = fh({
      zt: 0.01,
      zc: 1,
      c: 10,
      s: 3,
      p: [
        [-2, 3],
        [2, 2],
        [1, 1],
      ],
      pb: [1, 2, 3, 4, 5, 6],
      n: [[1, 2]],
      nb: [1, 1],
    });
    // Positive indexes of acc: −2 −1 0 3 4 6; other: −1, 3 4 (split), 6; negative 2.
    const other = fh({
      zt: 0.01,
      zc: 1,
      c: 5,
      s: 1,
      p: [
        [-1, 1],
        [3, 1],
        [0, 1],
        [1, 1],
      ],
      pb: [10, 20, 30, 40],
      n: [[2, 1]],
      nb: [7],
    });
    const want = norm(addHistograms(acc, other));
    expect(addInPlace(acc, other)).toBe(true);
    expect(norm(acc)).toEqual(want);
    expect([...acc.positiveBuckets]).toEqual([1, 12, 3, 24, 35, 46]);
    expect([...acc.negativeBuckets]).toEqual([1, 8]);
    // Not a subset (index 5): refused, untouched.
    const before = norm(acc);
    expect(addInPlace(acc, fh({ zt: 0.01, c: 1, p: [[5, 1]], pb: [1] }))).toBe(false);
    expect(norm(acc)).toEqual(before);
  });
});
