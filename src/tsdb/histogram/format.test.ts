/**
 * formatHistogram against the String() cases of Prometheus' own tests, carried over as data
 * (model/histogram/histogram_test.go TestHistogramString, float_histogram_test.go
 * TestFloatHistogramString, generic_test.go TestGetBoundExponential, and the expected lines of
 * cmd/promtool/tsdb_test.go TestTSDBDumpNativeHistogram).
 */
import { describe, expect, it } from 'vitest';
import { bucketBound, formatHistogram } from './format.js';
import { newFloatHistogram, newHistogram, type FloatHistogram, type Histogram, type Span } from './types.js';

const sp = (...xs: [number, number][]): Span[] => xs.map(([offset, length]) => ({ offset, length }));

function intH(o: Partial<Omit<Histogram, 'kind'>>): Histogram {
  return { ...newHistogram(), ...o };
}
function floatH(o: Partial<Omit<FloatHistogram, 'kind'>>): FloatHistogram {
  return { ...newFloatHistogram(), ...o };
}

describe('formatHistogram = Prometheus String()', () => {
  const cases: [string, Histogram | FloatHistogram, string][] = [
    ['empty integer histogram', intH({ schema: 0 }), '{count:0, sum:0}'],
    [
      'negative buckets and zero bucket',
      intH({
        schema: 0,
        count: 9,
        sum: -3.1415,
        zeroCount: 12,
        zeroThreshold: 0.001,
        negativeSpans: sp([0, 5], [1, 1]),
        negativeBuckets: Float64Array.of(1, 2, -2, 1, -1, 0),
      }),
      '{count:9, sum:-3.1415, [-64,-32):1, [-16,-8):1, [-8,-4):2, [-4,-2):1, [-2,-1):3, [-1,-0.5):1, [-0.001,0.001]:12}',
    ],
    [
      'zero-length spans on both sides',
      intH({
        schema: 0,
        count: 19,
        sum: 2.7,
        positiveSpans: sp([0, 4], [0, 0], [0, 3]),
        positiveBuckets: Float64Array.of(1, 2, -2, 1, -1, 0, 0),
        negativeSpans: sp([0, 5], [1, 0], [0, 1]),
        negativeBuckets: Float64Array.of(1, 2, -2, 1, -1, 0),
      }),
      '{count:19, sum:2.7, [-64,-32):1, [-16,-8):1, [-8,-4):2, [-4,-2):1, [-2,-1):3, [-1,-0.5):1, (0.5,1]:1, (1,2]:3, (2,4]:1, (4,8]:2, (8,16]:1, (16,32]:1, (32,64]:1}',
    ],
    [
      'float histogram, schema 1',
      floatH({
        schema: 1,
        zeroThreshold: 0.01,
        zeroCount: 5.5,
        count: 3493.3,
        sum: 2349209.324,
        positiveSpans: sp([-2, 1], [2, 3]),
        positiveBuckets: Float64Array.of(1, 3.3, 4.2, 0.1),
        negativeSpans: sp([3, 2], [3, 2]),
        negativeBuckets: Float64Array.of(3.1, 3, 1.234e5, 1000),
      }),
      '{count:3493.3, sum:2.349209324e+06, [-22.62741699796952,-16):1000, [-16,-11.31370849898476):123400, [-4,-2.82842712474619):3, [-2.82842712474619,-2):3.1, [-0.01,0.01]:5.5, (0.35355339059327373,0.5]:1, (1,1.414213562373095]:3.3, (1.414213562373095,2]:4.2, (2,2.82842712474619]:0.1}',
    ],
    // promtool tsdb dump (TestTSDBDumpNativeHistogram).
    [
      'promtool dump: integer histogram with a zero bucket',
      intH({ count: 3, sum: 3, zeroCount: 3, zeroThreshold: 0.001 }),
      '{count:3, sum:3, [-0.001,0.001]:3}',
    ],
    ['promtool dump: float histogram', floatH({ count: 2, sum: 2 }), '{count:2, sum:2}'],
  ];
  for (const [name, h, want] of cases) {
    it(name, () => {
      expect(formatHistogram(h)).toBe(want);
    });
  }
});

describe('bucketBound = Prometheus getBoundExponential', () => {
  const cases: [number, number, number][] = [
    [-1, -1, 0.25],
    [0, -1, 1],
    [1, -1, 4],
    [512, -1, Number.MAX_VALUE],
    [513, -1, Infinity],
    [-1, 0, 0.5],
    [0, 0, 1],
    [1, 0, 2],
    [1024, 0, Number.MAX_VALUE],
    [1025, 0, Infinity],
    [-1, 2, 0.8408964152537144],
    [0, 2, 1],
    [1, 2, 1.189207115002721],
    [4096, 2, Number.MAX_VALUE],
    [4097, 2, Infinity],
  ];
  for (const [idx, schema, want] of cases) {
    it(`idx ${idx}, schema ${schema}`, () => {
      expect(bucketBound(idx, schema)).toBe(want);
    });
  }
});
