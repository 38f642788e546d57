/**
 * Native histogram samples as prompb `Histogram` messages, field for field what Prometheus'
 * remote read handler sends (storage/remote/codec.go: HistogramToHistogramProto and
 * FloatHistogramToHistogramProto, prompb.FromIntHistogram / FromFloatHistogram in later
 * versions): integer histograms with `count_int`, `zero_count_int` and bucket counts as deltas
 * (`positive_deltas`, `negative_deltas`, as stored in the chunk); float histograms with
 * `count_float`, `zero_count_float` and absolute counts (`positive_counts`, `negative_counts`);
 * schema, zero threshold, spans, the counter-reset hint and the timestamp in both.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  HistogramSchema,
  TimeSeriesSchema,
  type Histogram as PromHistogram,
} from '../../gen/prometheus/prompb/types_pb.js';
import type { AnyHistogram, Span } from '../tsdb/histogram/types.js';

function spans(s: readonly Span[]): { offset: number; length: number }[] {
  return s.map((x) => ({ offset: x.offset, length: x.length }));
}

function ints(b: Float64Array): bigint[] {
  return Array.from(b, (v) => BigInt(v));
}

/** One sample as a prompb Histogram. */
export function toPromHistogram(t: number, h: AnyHistogram): PromHistogram {
  const common = {
    sum: h.sum,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    negativeSpans: spans(h.negativeSpans),
    positiveSpans: spans(h.positiveSpans),
    resetHint: h.counterResetHint,
    timestamp: BigInt(t),
  };
  if (h.kind === 'histogram') {
    return create(HistogramSchema, {
      ...common,
      count: { case: 'countInt', value: BigInt(h.count) },
      zeroCount: { case: 'zeroCountInt', value: BigInt(h.zeroCount) },
      negativeDeltas: ints(h.negativeBuckets),
      positiveDeltas: ints(h.positiveBuckets),
    });
  }
  return create(HistogramSchema, {
    ...common,
    count: { case: 'countFloat', value: h.count },
    zeroCount: { case: 'zeroCountFloat', value: h.zeroCount },
    negativeCounts: Array.from(h.negativeBuckets),
    positiveCounts: Array.from(h.positiveBuckets),
  });
}

/**
 * The bytes of `TimeSeries.histograms` (field 4, repeated) for the samples (ts[i], hs[i]): they
 * follow a TimeSeries' labels and samples as protobuf's field order has it.
 */
export function encodeHistogramsField(ts: readonly number[], hs: readonly AnyHistogram[]): Uint8Array {
  const histograms = hs.map((h, i) => toPromHistogram(ts[i]!, h));
  return toBinary(TimeSeriesSchema, create(TimeSeriesSchema, { histograms }));
}
