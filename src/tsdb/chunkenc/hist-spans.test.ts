/**
 * Layout arithmetic against the vectors of Prometheus' histogram_meta_test.go (v2.53): bucket
 * iteration, forward/backward inserts with the resulting buckets, merged gauge layouts, layouts
 * written and read back (data carried over as facts).
 */
import { describe, expect, it } from 'vitest';
import type { Span } from '../histogram/types.js';
import { HistBitReader, HistBitWriter } from './hist-bits.js';
import { newLayout, readLayout, writeLayout, type Layout } from './hist-meta.js';
import {
  applyInserts,
  bucketIndexes,
  expandSpansBothWays,
  expandSpansForward,
  type Insert,
} from './hist-spans.js';

const sp = (...xs: [number, number][]): Span[] => xs.map(([offset, length]) => ({ offset, length }));

describe('bucket indexes (TestBucketIterator)', () => {
  it.each([
    [sp([0, 1]), [0]],
    [sp([0, 2], [1, 1]), [0, 1, 3]],
    [sp([100, 4], [8, 7], [0, 1]), [100, 101, 102, 103, 112, 113, 114, 115, 116, 117, 118, 119]],
    [sp([0, 2], [2, 1], [3, 2], [3, 1], [1, 1]), [0, 1, 4, 8, 9, 13, 15]],
    [sp([0, 3], [1, 1], [1, 4], [3, 3]), [0, 1, 2, 4, 6, 7, 8, 9, 13, 14, 15]],
  ])('%j', (spans, idx) => {
    expect(bucketIndexes(spans)).toEqual(idx);
  });
});

interface Scenario {
  name: string;
  a: Span[];
  b: Span[];
  f?: Insert[];
  back?: Insert[];
  bucketsIn?: number[];
  bucketsOut?: number[];
}

const ins = (...xs: [number, number][]): Insert[] => xs.map(([pos, num]) => ({ pos, num }));
const docA = sp([0, 2], [2, 1], [3, 2], [3, 1], [1, 1]);

const scenarios: Scenario[] = [
  {
    name: 'single prepend',
    a: sp([-10, 3]),
    b: sp([-11, 4]),
    f: ins([0, 1]),
    bucketsIn: [6, -3, 0],
    bucketsOut: [0, 6, -3, 0],
  },
  {
    name: 'single append',
    a: sp([-10, 3]),
    b: sp([-10, 4]),
    f: ins([3, 1]),
    bucketsIn: [6, -3, 0],
    bucketsOut: [6, -3, 0, -3],
  },
  {
    name: 'double prepend',
    a: sp([-10, 3]),
    b: sp([-12, 5]),
    f: ins([0, 2]),
    bucketsIn: [6, -3, 0],
    bucketsOut: [0, 0, 6, -3, 0],
  },
  {
    name: 'double append',
    a: sp([-10, 3]),
    b: sp([-10, 5]),
    f: ins([3, 2]),
    bucketsIn: [6, -3, 0],
    bucketsOut: [6, -3, 0, -3, 0],
  },
  {
    name: 'double prepend and double append',
    a: sp([-10, 3]),
    b: sp([-12, 7]),
    f: ins([0, 2], [3, 2]),
    bucketsIn: [6, -3, 0],
    bucketsOut: [0, 0, 6, -3, 0, -3, 0],
  },
  { name: 'removal at the start', a: sp([-10, 4]), b: sp([-9, 3]), back: ins([0, 1]) },
  { name: 'removal in the middle', a: sp([-10, 4]), b: sp([-10, 2], [1, 1]), back: ins([2, 1]) },
  { name: 'removal at the end', a: sp([-10, 4]), b: sp([-10, 3]), back: ins([3, 1]) },
  {
    name: 'as described in the doc comment',
    a: docA,
    b: sp([0, 3], [1, 1], [1, 4], [3, 3]),
    f: ins([2, 1], [3, 2], [6, 1]),
    bucketsIn: [6, -3, 0, -1, 2, 1, -4],
    bucketsOut: [6, -3, -3, 3, -3, 0, 2, 2, 1, -5, 1],
  },
  {
    name: 'forward and backward inserts',
    a: docA,
    b: sp([1, 2], [1, 1], [1, 2], [1, 1], [4, 1]),
    f: ins([2, 1], [3, 2], [6, 1]),
    back: ins([0, 1], [5, 1], [6, 1], [7, 1]),
  },
];

describe('inserts (TestCompareSpansAndInsert)', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    if (s.back !== undefined) {
      const both = expandSpansBothWays(s.a, s.b);
      expect(both.forward).toEqual(s.f ?? []);
      expect(both.backward).toEqual(s.back);
      expect(expandSpansForward(s.a, s.b)).toBeNull();
      return;
    }
    const f = expandSpansForward(s.a, s.b);
    expect(f).toEqual(s.f);
    const out = new Float64Array(s.bucketsOut!.length);
    applyInserts(Float64Array.from(s.bucketsIn!), out, f!, true);
    expect([...out]).toEqual(s.bucketsOut);
    // Absolute (float) buckets: the inserted ones are 0, the others keep their counts.
    const abs = (d: number[]): number[] => {
      let c = 0;
      return d.map((x) => (c += x));
    };
    const fout = new Float64Array(s.bucketsOut!.length);
    applyInserts(Float64Array.from(abs(s.bucketsIn!)), fout, f!, false);
    expect([...fout]).toEqual(abs(s.bucketsOut!));
  });
});

describe('merged gauge layouts (TestSpansFromBidirectionalCompareSpans)', () => {
  const cases: [Span[], Span[], Span[]][] = [
    [[], [], []],
    [sp([0, 3], [3, 3], [5, 3]), sp([0, 2], [2, 2], [2, 3], [3, 3]), sp([0, 3], [1, 7], [3, 3])],
    [sp([0, 3], [3, 5], [3, 3]), sp([0, 2], [5, 3], [4, 3]), sp([0, 3], [3, 5], [3, 3])],
    [sp([0, 3], [3, 3], [5, 3]), sp([3, 3], [4, 2]), sp([0, 9], [1, 2], [2, 3])],
    [sp([0, 3], [3, 3], [5, 3]), [], sp([0, 3], [3, 3], [5, 3])],
    [
      sp([-5, 0], [2, 0], [3, 3], [1, 0], [2, 3], [2, 0], [2, 0], [1, 3], [4, 0], [5, 0]),
      sp([0, 2], [2, 2], [1, 0], [1, 3], [3, 3]),
      sp([0, 3], [1, 7], [3, 3]),
    ],
  ];
  it.each(cases)('%j ∪ %j', (a, b, want) => {
    const a0 = structuredClone(a);
    expect(expandSpansBothWays(a, b).merged).toEqual(want);
    expect(expandSpansBothWays(b, a).merged).toEqual(want);
    expect(a).toEqual(a0);
  });
});

describe('layouts written and read back (TestWriteReadHistogramChunkLayout)', () => {
  it('round-trips every upstream layout, weird spans included', () => {
    const layouts: [number, number, Span[], Span[]][] = [
      [3, 0, sp([-4, 3], [2, 42]), []],
      [-2, 2.938735877055719e-39, [], sp([2, 5], [1, 34])],
      [6, 1024, [], []],
      [6, 1025, sp([2, 5], [1, 34], [0, 0]), sp([-345, 4545], [53645665, 345], [945995, 85848])],
      [6, 2048, [], []],
      [0, 2 ** -243, sp([-4, 3]), sp([2, 5], [1, 34])],
      [0, 2 ** -244, sp([-4, 3]), sp([2, 5], [1, 34])],
      [4, 42, [], []],
    ];
    const w = new HistBitWriter();
    w.reset(3);
    for (const [schema, zt, p, n] of layouts) writeLayout(w, schema, zt, p, n);
    // Bucket values follow a layout in a chunk; the reader checks there are bits for them.
    for (let i = 0; i < 12_000; i++) w.write(0, 8);
    const r = new HistBitReader();
    r.reset(w.bytes(0, 0).slice(), 3, 'x', 0);
    const got: Layout = newLayout();
    for (const [schema, zt, p, n] of layouts) {
      readLayout(r, got);
      expect([got.schema, got.zeroThreshold, got.positiveSpans, got.negativeSpans]).toEqual([
        schema,
        zt,
        p,
        n,
      ]);
    }
  });
});
