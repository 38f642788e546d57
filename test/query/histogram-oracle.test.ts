/**
 * Native histograms end to end: blocks written by Prometheus 2.42 itself (remote-written integer
 * histograms, counters with resets and growing layouts, gauges), by `strata tsdb synth
 * --histograms` and one block of float histograms (Strata's writer; 2.42 reads them from blocks
 * but cannot ingest them), in a bucket → `strata store` → `strata query`, against a Prometheus
 * 2.42 holding the same blocks in its TSDB ("ref"):
 *
 * - Store API: every chunk comes back with its type (XOR 0, HISTOGRAM 1, FLOAT_HISTOGRAM 2) and
 *   its bytes as stored.
 * - STREAMED_XOR_CHUNKS: exactly the chunks (types XOR 1, HISTOGRAM 2, FLOAT_HISTOGRAM 3, bytes,
 *   ranges) that ref's own remote read sends.
 * - SAMPLES: the answer (TimeSeries.histograms) replayed through remote write into an empty
 *   Prometheus 2.42 ("replayed"): query_range of raw histograms, rate() and histogram_quantile()
 *   equal ref's; float histograms (not ingestible by 2.42) equal ref's histogram_count/sum.
 *
 * Prometheus 2.42's remote read CLIENT ignores histograms (storage/remote/codec.go at v2.42.0:
 * "TODO(beorn7): Add histogram support"; fixed in 2.44 by prometheus#12192), so a 2.42 with
 * remote_read to strata query sees the float series only: asserted below, so the day the
 * package is newer this test says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { TimeSeriesSchema, type TimeSeries } from '../../gen/prometheus/prompb/types_pb.js';
import {
  copyBlocksInto,
  queryRange,
  remoteReadConfig,
  startPrometheus,
  type PrometheusServer,
} from '../services/prometheus.js';
import { assertNoLeakedProcesses, waitFor } from '../support/processes.js';
import { ensureBuilt } from '../support/build.js';
import { findBlocks, histogramSeriesToWire, remoteWrite } from '../support/remote-write.js';
import { runStrata } from '../compact/strata-cli.js';
import { storeApiClient } from '../storeapi/client.js';
import { BlockWriter } from '../../src/tsdb/block/writer.js';
import { encodeFloatHistogramChunks, SplitEvery } from '../../src/tsdb/chunkenc/histogram.js';
import { labelsFromRecord } from '../../src/tsdb/labels.js';
import { genSeries, toFloatHistograms, toHistograms } from '../../src/tsdb/synth/histograms.js';
import {
  filesystemConfigFile,
  scratch,
  startQuery,
  startStore,
  stopAll,
  uploadBlocks,
  type Running,
  type Scratch,
} from './harness.js';
import {
  blockDirsUnder,
  labelKey,
  readSamples,
  readStreamed,
  replay,
  storedChunks,
} from './histogram-support.js';

const STEP = 15_000;
const HOURS = 5.5;
const H2 = 2 * 3600_000;
const NATIVE = '--enable-feature=native-histograms';

let s: Scratch | undefined;
let store: Running | undefined;
let query: Running | undefined;
let ref: PrometheusServer | undefined;
let replayed: PrometheusServer | undefined;
let remote: PrometheusServer | undefined;
let blocks: string[] = [];
let minTime = 0;
let maxTime = 0;
let answer: TimeSeries[] = [];
/** Float histogram series written by the test: name → timestamps and (count, sum). */
const floatHists = new Map<string, { ts: number[]; count: number[]; sum: number[] }>();

/** Prometheus 2.42 writes native histogram blocks from remote-written samples ending now. */
async function prometheusBlocks(dir: string, t0: number): Promise<string[]> {
  const n = Math.floor((Date.now() - t0) / STEP);
  const variants: [string, Parameters<typeof genSeries>[1], boolean][] = [
    ['lat_grow', { samples: n, grow: 0.02 }, false],
    ['lat_resets', { samples: n, grow: 0.01, resets: 0.01 }, false],
    ['lat_neg', { samples: n, negative: true, grow: 0.02, resets: 0.005 }, false],
    ['gauge_moving', { samples: n, gauge: true, negative: true, grow: 0.05 }, true],
  ];
  const written = variants.map(([name, o, gauge], k) => {
    const g = genSeries(200 + k, { ...o, step: STEP, t0 });
    return { name, ts: g.ts, hs: toHistograms(g, gauge) };
  });
  const prom = await startPrometheus({
    dataDir: dir,
    extraArgs: [NATIVE, '--web.enable-remote-write-receiver'],
  });
  try {
    for (let i = 0; i < n; i += 120) {
      const to = Math.min(n, i + 120);
      const floats = create(TimeSeriesSchema, {
        labels: [{ name: '__name__', value: 'prom_float_total' }],
        samples: written[0]!.ts.slice(i, to).map((t, k) => ({ value: (i + k) * 1.5, timestamp: BigInt(t) })),
      });
      await remoteWrite(prom.url, [
        ...written.map((w) => histogramSeriesToWire(w.name, w.ts, w.hs, i, to)),
        floats,
      ]);
    }
    return await waitFor('2 blocks cut by the head', () => findBlocks(dir, 2), 180_000, 1000);
  } finally {
    await prom.stop();
  }
}

/** One block of float histogram series (a counter and a gauge) over [start, start + 2h). */
async function floatHistogramBlock(dir: string, start: number): Promise<string> {
  const n = H2 / STEP - 1;
  const w = await BlockWriter.create(dir, {
    symbols: ['__name__', 'fh_gauge', 'fh_latency'],
    minTime: start,
    maxTime: start + H2,
  });
  for (const [name, gauge] of [
    ['fh_gauge', true],
    ['fh_latency', false],
  ] as const) {
    const g = genSeries(gauge ? 301 : 302, {
      samples: n,
      step: STEP,
      t0: start,
      grow: 0.02,
      gauge,
      negative: true,
    });
    const hs = toFloatHistograms(g, gauge);
    floatHists.set(name, { ts: g.ts, count: hs.map((h) => h.count), sum: hs.map((h) => h.sum) });
    await w.addSeries(
      labelsFromRecord({ __name__: name }),
      encodeFloatHistogramChunks(g.ts, hs, new SplitEvery(120)),
    );
  }
  return (await w.finish())!.dir;
}

beforeAll(async () => {
  s = await scratch('strata-hist-query-');
  await ensureBuilt();
  const t0 = Math.floor((Date.now() - HOURS * 3600_000) / STEP) * STEP;
  const synthStart = Math.floor((t0 - 6 * 3600_000) / H2) * H2;
  const synthDir = s.path('synth');
  const refDir = s.path('prom-ref');
  const synth = await runStrata([
    'tsdb',
    'synth',
    '--out',
    synthDir,
    '--series',
    '6',
    '--histograms',
    '5',
    '--hours',
    '4',
    '--seed',
    '7',
    '--start-time',
    String(synthStart),
  ]);
  expect(synth.code, synth.stderr).toBe(0);
  const [prom, fh] = await Promise.all([
    prometheusBlocks(s.path('prom-src'), t0),
    floatHistogramBlock(s.path('fh'), synthStart - H2),
  ]);
  blocks = [...prom, ...(await blockDirsUnder(synthDir)), fh];
  const bucket = s.path('bucket');
  await uploadBlocks(bucket, blocks);
  store = await startStore({
    objstoreConfigFile: await filesystemConfigFile(s, bucket),
    dataDir: s.path('store'),
  });
  query = await startQuery({ endpoints: [store.grpc] });
  minTime = synthStart - H2;
  maxTime = Date.now();
  [ref, remote] = await Promise.all([
    (async () => {
      await copyBlocksInto(refDir, blocks);
      // 2h blocks only: its compactor leaves the blocks (and their chunk bytes) alone.
      return startPrometheus({
        dataDir: refDir,
        extraArgs: [NATIVE, '--storage.tsdb.max-block-duration=2h'],
      });
    })(),
    startPrometheus({
      dataDir: s.path('prom-remote'),
      config: remoteReadConfig(`${query.http}/api/v1/read`),
      extraArgs: [NATIVE],
    }),
  ]);
  answer = await readSamples(query.http, minTime, maxTime);
  replayed = await startPrometheus({
    dataDir: s.path('prom-replayed'),
    extraArgs: [NATIVE, '--web.enable-remote-write-receiver'],
  });
  // 2.42 cannot ingest float histograms: those are compared by other means below.
  const ingestible = answer.filter((ts) => ts.histograms.every((h) => h.count.case !== 'countFloat'));
  expect(await replay(replayed.url, ingestible, minTime, maxTime)).toBeGreaterThan(10_000);
}, 420_000);

afterAll(async () => {
  await stopAll([store, query, ref, replayed, remote]);
  await s?.cleanup();
  await assertNoLeakedProcesses();
});

function nameOf(ts: TimeSeries): string {
  return ts.labels.find((l) => l.name === '__name__')!.value;
}

describe('native histograms through strata store and strata query (Prometheus 2.42 oracle)', () => {
  it('Store API (strata store, and strata query in front of it): every chunk with its type and bytes as stored', async () => {
    const want = await storedChunks(blocks);
    for (const address of [store!.grpc, query!.grpc]) {
      const client = storeApiClient(address);
      try {
        const got = await client.series({
          minTime,
          maxTime,
          matchers: [{ type: 'RE', name: '__name__', value: '.+' }],
        });
        const types = new Set<number>();
        expect(got.series.length).toBe(want.size);
        for (const series of got.series) {
          const w = want.get(labelKey(series.pairs.map(([name, value]) => ({ name, value }))))!;
          expect(w, JSON.stringify(series.labels)).toBeDefined();
          const chunks = series.chunks.map((c) => ({ ...c, data: Buffer.from(c.data) }));
          for (const c of chunks) types.add(c.type);
          expect(chunks, address).toEqual(w.map((c) => ({ ...c, type: c.type - 1 })));
        }
        expect([...types].sort()).toEqual([0, 1, 2]);
      } finally {
        client.close();
      }
    }
  });

  it('STREAMED_XOR_CHUNKS: the chunks Prometheus 2.42 streams for the same blocks, typed XOR 1, HISTOGRAM 2, FLOAT_HISTOGRAM 3', async () => {
    const [mine, theirs] = await Promise.all([
      readStreamed(query!.http, minTime, maxTime),
      readStreamed(ref!.url, minTime, maxTime),
    ]);
    expect([...mine.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [k, chunks] of theirs) expect(mine.get(k), k).toEqual(chunks);
    expect(new Set([...mine.values()].flat().map((c) => c.type))).toEqual(new Set([1, 2, 3]));
  });

  it('SAMPLES: replayed into a Prometheus, query_range of raw histograms, rate() and histogram_quantile() equal the one holding the blocks', async () => {
    const queries: string[] = ['rate(prom_float_total[5m])', 'rate(http_requests_total[5m])'];
    for (const ts of answer) {
      const h = ts.histograms;
      if (h.length === 0 || h[0]!.count.case === 'countFloat') continue;
      const name = nameOf(ts);
      if (queries.includes(name)) continue;
      queries.push(name);
      if (h.every((x) => x.resetHint === 3)) queries.push(`histogram_quantile(0.5, ${name})`);
      else queries.push(`rate(${name}[5m])`, `histogram_quantile(0.9, rate(${name}[5m]))`);
    }
    expect(queries.length).toBeGreaterThan(12);
    let histogramPoints = 0;
    for (const q of queries) {
      for (const step of [60_000, 37_000]) {
        const [want, got] = await Promise.all([
          queryRange(ref!.url, q, minTime, maxTime, step),
          queryRange(replayed!.url, q, minTime, maxTime, step),
        ]);
        expect(want.data.result.length, q).toBeGreaterThan(0);
        expect(got.data, `${q} step ${step}`).toEqual(want.data);
        histogramPoints += JSON.stringify(want).split('"buckets"').length - 1;
      }
    }
    expect(histogramPoints).toBeGreaterThan(1000);
  });

  it('SAMPLES: float histograms as written, equal to what Prometheus 2.42 reads from the block', async () => {
    for (const [name, w] of floatHists) {
      const ts = answer.find((x) => nameOf(x) === name)!;
      expect(ts.samples).toEqual([]);
      expect(ts.histograms.map((h) => Number(h.timestamp))).toEqual(w.ts);
      expect(ts.histograms.map((h) => (h.count.case === 'countFloat' ? h.count.value : NaN))).toEqual(
        w.count,
      );
      expect(ts.histograms.map((h) => h.sum)).toEqual(w.sum);
      if (name === 'fh_gauge') expect(ts.histograms.every((h) => h.resetHint === 3)).toBe(true);
      for (const [fn, vals] of [
        ['histogram_count', w.count],
        ['histogram_sum', w.sum],
      ] as const) {
        const r = await queryRange(ref!.url, `${fn}(${name})`, w.ts[0]!, w.ts[w.ts.length - 1]!, STEP);
        const pts = r.data.result[0]!.values;
        expect(pts.length).toBeGreaterThan(400);
        let j = 0;
        for (const [sec, text] of pts) {
          const t = Math.round(sec * 1000);
          while (j + 1 < w.ts.length && w.ts[j + 1]! <= t) j++;
          expect(Number(text), `${fn}(${name}) at ${t}`).toBe(vals[j]);
        }
      }
    }
  });

  it('a Prometheus 2.42 with remote_read to strata query: float series equal, histograms dropped by its client', async () => {
    for (const q of ['rate(http_requests_total[5m])', 'prom_float_total']) {
      const [want, got] = await Promise.all([
        queryRange(ref!.url, q, minTime, maxTime, 60_000),
        queryRange(remote!.url, q, minTime, maxTime, 60_000),
      ]);
      expect(got.data, q).toEqual(want.data);
    }
    const h = await queryRange(remote!.url, 'lat_grow', minTime, maxTime, 60_000);
    // 2.42's remote read client reads TimeSeries.samples only (histograms came in 2.44,
    // prometheus#12192): if this fails, the Prometheus is newer and can be compared like `ref`.
    expect(h.data.result, 'Prometheus newer than 2.43 reads histograms over remote read').toEqual([]);
  });
});
