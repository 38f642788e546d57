/**
 * Native histogram blocks written by a real Prometheus 2.42: remote-write integer histograms
 * (prompb WriteRequest with `histograms`, snappy block format) to a server started with
 * --web.enable-remote-write-receiver --enable-feature=native-histograms, all series advancing
 * together so the head accepts every sample, then wait for the head to cut its 2 h blocks.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { WriteRequestSchema } from '../../gen/prometheus/prompb/remote_pb.js';
import { HistogramSchema, TimeSeriesSchema, type TimeSeries } from '../../gen/prometheus/prompb/types_pb.js';
import type { Histogram } from '../../src/tsdb/histogram/types.js';
import { snappyCompress } from '../../src/util/snappy.js';
import { startPrometheus, type PrometheusServer } from './prometheus.js';
import { waitFor } from '../support/processes.js';

/** One series as written: name, timestamps and histograms. */
export interface WrittenSeries {
  name: string;
  ts: number[];
  hs: Histogram[];
}

export function toWire(
  name: string,
  ts: readonly number[],
  hs: readonly Histogram[],
  from: number,
  to: number,
): TimeSeries {
  const histograms = [];
  for (let i = from; i < to; i++) {
    const h = hs[i]!;
    histograms.push(
      create(HistogramSchema, {
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
        timestamp: BigInt(ts[i]!),
      }),
    );
  }
  return create(TimeSeriesSchema, { labels: [{ name: '__name__', value: name }], histograms });
}

export async function remoteWrite(url: string, series: TimeSeries[]): Promise<void> {
  const body = snappyCompress(
    toBinary(WriteRequestSchema, create(WriteRequestSchema, { timeseries: series })),
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

/** The block dirs once there are `want` of them (meta.json is written last). */
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

/** The integer histogram remote-write receiver (data in `dataDir`). */
export function startHistogramReceiver(dataDir: string): Promise<PrometheusServer> {
  return startPrometheus({
    dataDir,
    extraArgs: ['--enable-feature=native-histograms', '--web.enable-remote-write-receiver'],
  });
}

/**
 * Remote-writes `series` (all on one time grid) in requests of `batch` samples per series, then
 * waits for `want` blocks cut by the head; returns their dirs.
 */
export async function writeAndCut(
  prom: PrometheusServer,
  series: readonly WrittenSeries[],
  want: number,
  batch = 120,
): Promise<string[]> {
  const n = series[0]!.ts.length;
  for (let i = 0; i < n; i += batch) {
    await remoteWrite(
      prom.url,
      series.map((w) => toWire(w.name, w.ts, w.hs, i, Math.min(n, i + batch))),
    );
  }
  return waitFor(`${want} blocks cut by the head`, () => findBlocks(prom.dataDir, want), 180_000, 1000);
}
