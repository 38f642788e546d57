/**
 * Histograms in SAMPLES remote-read responses: the fields Prometheus' own conversion fills
 * (integer histograms: count_int, zero_count_int, bucket deltas; float histograms: count_float,
 * zero_count_float, absolute counts; spans, schema, zero threshold, hint, timestamp), and the
 * direct response encoder writes exactly what protobuf-es writes for the whole message.
 */
import { describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ReadResponseSchema } from '../../gen/prometheus/prompb/remote_pb.js';
import { Histogram_ResetHint } from '../../gen/prometheus/prompb/types_pb.js';
import { encodeHistogramsField, toPromHistogram } from '../../src/query/prompb-histogram.js';
import { encodeReadResponse } from '../../src/query/prompb-encode.js';
import { floatHi, floatLo } from '../../src/tsdb/chunkenc/float-bits.js';
import {
  HINT_COUNTER_RESET,
  HINT_GAUGE,
  STALE_NAN,
  type FloatHistogram,
  type Histogram,
} from '../../src/tsdb/histogram/types.js';
import { labelsFromRecord } from '../../src/tsdb/labels.js';
import { SampleBuf } from '../../src/tsdb/samples/sample-buf.js';

const intHist: Histogram = {
  kind: 'histogram',
  counterResetHint: HINT_COUNTER_RESET,
  schema: 3,
  zeroThreshold: 0.001,
  zeroCount: 2,
  count: 19,
  sum: 12.5,
  positiveSpans: [
    { offset: -2, length: 2 },
    { offset: 3, length: 1 },
  ],
  negativeSpans: [{ offset: 1, length: 1 }],
  // Deltas: absolute counts 4, 6, 3.
  positiveBuckets: Float64Array.from([4, 2, -3]),
  negativeBuckets: Float64Array.from([4]),
};

const floatHist: FloatHistogram = {
  kind: 'floathistogram',
  counterResetHint: HINT_GAUGE,
  schema: -2,
  zeroThreshold: 0,
  zeroCount: 0.5,
  count: 7.25,
  sum: -3,
  positiveSpans: [{ offset: 0, length: 3 }],
  negativeSpans: [],
  positiveBuckets: Float64Array.from([1.5, 0, 5.25]),
  negativeBuckets: new Float64Array(0),
};

describe('prompb histograms', () => {
  it('integer histograms: count_int, zero_count_int, deltas as stored, spans, hint, timestamp', () => {
    const p = toPromHistogram(1_700_000_000_123, intHist);
    expect(p.count).toEqual({ case: 'countInt', value: 19n });
    expect(p.zeroCount).toEqual({ case: 'zeroCountInt', value: 2n });
    expect(p.positiveDeltas).toEqual([4n, 2n, -3n]);
    expect(p.negativeDeltas).toEqual([4n]);
    expect(p.positiveCounts).toEqual([]);
    expect(p.positiveSpans.map((s) => [s.offset, s.length])).toEqual([
      [-2, 2],
      [3, 1],
    ]);
    expect(p.negativeSpans.map((s) => [s.offset, s.length])).toEqual([[1, 1]]);
    expect([p.schema, p.zeroThreshold, p.sum]).toEqual([3, 0.001, 12.5]);
    expect(p.resetHint).toBe(Histogram_ResetHint.YES);
    expect(p.timestamp).toBe(1_700_000_000_123n);
  });

  it('float histograms: count_float, zero_count_float, absolute counts', () => {
    const p = toPromHistogram(5, floatHist);
    expect(p.count).toEqual({ case: 'countFloat', value: 7.25 });
    expect(p.zeroCount).toEqual({ case: 'zeroCountFloat', value: 0.5 });
    expect(p.positiveCounts).toEqual([1.5, 0, 5.25]);
    expect(p.positiveDeltas).toEqual([]);
    expect(p.resetHint).toBe(Histogram_ResetHint.GAUGE);
  });

  it('a TimeSeries with samples and histograms is written as protobuf-es writes it', () => {
    const buf = new SampleBuf();
    for (const [t, v] of [
      [1000, 1.5],
      [2000, -2],
    ] as const)
      buf.push(t, floatHi(v), floatLo(v));
    const labels = labelsFromRecord({ __name__: 'x', job: 'j' });
    const direct = encodeReadResponse(
      [
        [
          {
            labels,
            from: 0,
            to: 2,
            histograms: encodeHistogramsField([3000, 4000], [intHist, floatHist]),
          },
          {
            labels: labelsFromRecord({ __name__: 'y' }),
            from: 2,
            to: 2,
            histograms: encodeHistogramsField([9], [intHist]),
          },
        ],
      ],
      buf,
    );
    const want = toBinary(
      ReadResponseSchema,
      create(ReadResponseSchema, {
        results: [
          {
            timeseries: [
              {
                labels: labels.map((l) => ({ name: l.name, value: l.value })),
                samples: [
                  { value: 1.5, timestamp: 1000n },
                  { value: -2, timestamp: 2000n },
                ],
                histograms: [toPromHistogram(3000, intHist), toPromHistogram(4000, floatHist)],
              },
              { labels: [{ name: '__name__', value: 'y' }], histograms: [toPromHistogram(9, intHist)] },
            ],
          },
        ],
      }),
    );
    expect(Buffer.compare(direct, want)).toBe(0);
    const back = fromBinary(ReadResponseSchema, direct);
    expect(back.results[0]!.timeseries[0]!.histograms.map((h) => h.timestamp)).toEqual([3000n, 4000n]);
  });

  it('keeps the stale marker in sum bit for bit', () => {
    const bytes = Buffer.from(encodeHistogramsField([1], [{ ...intHist, sum: STALE_NAN }]));
    // Histogram.sum: tag 0x19 (field 3, fixed64) then 0x7ff0000000000002 little-endian.
    expect(bytes.includes(Buffer.from([0x19, 2, 0, 0, 0, 0, 0, 0xf0, 0x7f]))).toBe(true);
  });
});
