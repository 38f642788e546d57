/**
 * Feeding a real Prometheus (started with `--web.enable-remote-write-receiver
 * --enable-feature=native-histograms`) through remote write, and waiting for the blocks its head
 * cuts: how the tests get native histogram blocks written by Prometheus itself.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { WriteRequestSchema } from '../../gen/prometheus/prompb/remote_pb.js';
import {
  HistogramSchema,
  TimeSeriesSchema,
  type Histogram as PromHistogram,
  type TimeSeries,
} from '../../gen/prometheus/prompb/types_pb.js';
import { snappyCompress } from '../../src/util/snappy.js';
import type { Histogram } from '../../src/tsdb/histogram/types.js';

/** An integer histogram sample as a prompb Histogram (counts as deltas), written by the test itself. */
export function intHistogramToWire(t: number, h: Histogram): PromHistogram {
  return create(HistogramSchema, {
    count: { case: 'countInt', value: BigInt(h.count) },
    zeroCount: { case: 'zeroCountInt', value: BigInt(h.zeroCount) },
    sum: h.sum,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    positiveSpans: h.positiveSpans.map((s) => ({ offset: s.offset, length: s.length })),
    negativeSpans: h.negativeSpans.map((s) => ({ offset: s.offset, length: s.length })),
    positiveDeltas: [...h.positiveBuckets].map((v) => BigInt(v)),
    negativeDeltas: [...h.negativeBuckets].map((v) => BigInt(v)),
    resetHint: h.counterResetHint,
    timestamp: BigInt(t),
  });
}

/** Samples [from, to) of one histogram series named `name` as a TimeSeries. */
export function histogramSeriesToWire(
  name: string,
  ts: readonly number[],
  hs: readonly Histogram[],
  from: number,
  to: number,
): TimeSeries {
  const histograms: PromHistogram[] = [];
  for (let i = from; i < to; i++) histograms.push(intHistogramToWire(ts[i]!, hs[i]!));
  return create(TimeSeriesSchema, { labels: [{ name: '__name__', value: name }], histograms });
}

/** POSTs one WriteRequest (snappy block format) to `url`/api/v1/write; throws unless 2xx. */
export async function remoteWrite(url: string, series: readonly TimeSeries[]): Promise<void> {
  const body = snappyCompress(
    toBinary(WriteRequestSchema, create(WriteRequestSchema, { timeseries: [...series] })),
  );
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    },
    body,
  });
  const text = await res.text();
  if (res.status !== 204 && res.status !== 200) throw new Error(`remote write: ${res.status} ${text}`);
}

/** The block dirs of a Prometheus data dir once there are `want` of them (meta.json is written last). */
export async function findBlocks(dataDir: string, want: number): Promise<string[] | undefined> {
  const out: string[] = [];
  for (const e of (await readdir(dataDir)).sort()) {
    if (!/^[0-9A-Z]{26}$/.test(e)) continue;
    const ok = await stat(join(dataDir, e, 'meta.json')).then(
      () => true,
      () => false,
    );
    if (ok) out.push(join(dataDir, e));
  }
  return out.length >= want ? out : undefined;
}
