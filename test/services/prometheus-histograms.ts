/**
 * Native histogram blocks written by a real Prometheus 2.42: remote-write integer histograms
 * (prompb WriteRequest with `histograms`, snappy block format) to a server started with
 * --web.enable-remote-write-receiver --enable-feature=native-histograms, all series advancing
 * together so the head accepts every sample, then wait for the head to cut its 2 h blocks.
 */
import type { Histogram } from '../../src/tsdb/histogram/types.js';
import { startPrometheus, type PrometheusServer } from './prometheus.js';
import { waitFor } from '../support/processes.js';
import { findBlocks, histogramSeriesToWire, remoteWrite } from '../support/remote-write.js';

/** One series as written: name, timestamps and histograms. */
export interface WrittenSeries {
  name: string;
  ts: number[];
  hs: Histogram[];
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
      series.map((w) => histogramSeriesToWire(w.name, w.ts, w.hs, i, Math.min(n, i + batch))),
    );
  }
  return waitFor(`${want} blocks cut by the head`, () => findBlocks(prom.dataDir, want), 180_000, 1000);
}
